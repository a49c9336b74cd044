/**
 * The event window sized by time: it keeps at least windowSeconds of history at the current write
 * rate, grows under a burst up to windowMaxBytes, evicts (and counts it) only at that cap, and
 * gives memory back when idle. Driven by a ManualClock: no test sleeps.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { ObjectCodec } from '../../src/cache/object.js';
import { ProgressRequester } from '../../src/cache/progress-requester.js';
import { WatchCache, windowPlan, type WatchCacheOptions } from '../../src/cache/watch-cache.js';
import { ErrorCodes, WatchCacheError } from '../../src/errors.js';
import type { RingSegment } from '../../src/ring/producer.js';
import { RingReader } from '../../src/ring/reader.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { POD_SCHEMA, pod } from '../helpers/pods.js';

const KIB = 1024;

function setup(options: Partial<WatchCacheOptions> = {}) {
  const clock = new ManualClock();
  const announced: Array<readonly RingSegment[]> = [];
  const cache = new WatchCache({
    codec: new ObjectCodec(POD_SCHEMA),
    clock,
    progress: new ProgressRequester(new MemoryStorage(), clock),
    onSegments: (segments) => announced.push(segments),
    ...options,
  });
  cache.replace([], 1);
  let rv = 1;
  /** Create `n` pods of about 500 bytes, one revision each; returns the last revision. */
  const write = (n: number): number => {
    for (let i = 0; i < n; i++) {
      rv++;
      const value = new TextEncoder().encode(JSON.stringify(pod({ name: `p${rv}`, padding: 300 })));
      cache.apply([{ type: 'put', kv: { key: `/registry/pods/default/p${rv}`, value, createRevision: rv, modRevision: rv, version: 1 } }]);
    }
    return rv;
  };
  return { clock, cache, write, announced };
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof WatchCacheError) return err.code;
    throw err;
  }
  return undefined;
}

describe('window sized by time', () => {
  it('a burst younger than windowSeconds grows the window instead of evicting', () => {
    const { cache, write, announced } = setup({ windowMinBytes: 4 * KIB, windowMaxBytes: 256 * KIB });
    const last = write(200); // about 100 KiB at one instant
    expect(cache.stats.shortWindowEvictions).toBe(0);
    expect(cache.stats.windowGrowths).toBeGreaterThan(10);
    expect(cache.ring.capacity).toBeGreaterThan(100 * KIB);
    expect(cache.stats.peakWindowBytes).toBe(cache.ring.capacity);
    // Every event of the burst is still there to replay.
    expect(code(() => cache.startPosition(1))).toBeUndefined();
    const reader = new RingReader(cache.ring.buffers);
    reader.attach(announced.at(-1)!);
    const rvs: number[] = [];
    let pos = cache.startPosition(1);
    for (;;) {
      const next = reader.scan(pos, 1000, (r) => rvs.push(r.rv));
      if (next === pos) break;
      pos = next;
    }
    expect(rvs).toEqual(Array.from({ length: 200 }, (_, i) => i + 2));
    expect(rvs.at(-1)).toBe(last);
  });

  it('at the memory cap it evicts, counts the evictions younger than windowSeconds, and older watches get 410', () => {
    const { cache, write } = setup({ windowMinBytes: 4 * KIB, windowMaxBytes: 16 * KIB });
    write(200);
    expect(cache.ring.capacity).toBe(16 * KIB);
    expect(cache.stats.peakWindowBytes).toBe(16 * KIB);
    expect(cache.stats.shortWindowEvictions).toBeGreaterThan(100);
    expect(code(() => cache.startPosition(1))).toBe(ErrorCodes.EXPIRED);
  });

  it('at a steady rate it keeps at least windowSeconds of history, with memory for about that much', async () => {
    const { clock, cache, write } = setup({ windowMinBytes: 4 * KIB, windowMaxBytes: 1024 * KIB });
    let first = 0;
    // One 500-byte event a second for 5 minutes: 75 s of it is about 37 KiB.
    for (let second = 0; second < 300; second++) {
      const rv = write(1);
      if (second === 0) first = rv;
      if (second >= 75) {
        expect(cache.windowSeconds()).toBeGreaterThanOrEqual(75);
        // Anything written 75 s ago can still be watched from.
        expect(code(() => cache.startPosition(rv - 75))).toBeUndefined();
      }
      await clock.advance(1000);
    }
    expect(cache.stats.shortWindowEvictions).toBe(0);
    // Old history was recycled rather than kept: the window is not the whole 5 minutes.
    expect(code(() => cache.startPosition(first))).toBe(ErrorCodes.EXPIRED);
    expect(cache.ring.capacity).toBeLessThanOrEqual(64 * KIB);
    // It grew to what the rate needs and stayed there: no grow / shrink flapping.
    expect(cache.stats.windowShrinks).toBe(0);
  });

  it('shrinks back to windowMinBytes once the history is older than windowSeconds and nothing is written', async () => {
    const { clock, cache, write, announced } = setup({ windowMinBytes: 4 * KIB, windowMaxBytes: 256 * KIB });
    write(200);
    const grown = cache.ring.capacity;
    expect(grown).toBeGreaterThan(100 * KIB);
    await clock.advance(60_000);
    expect(cache.ring.capacity).toBe(grown);
    await clock.advance(20_000);
    expect(cache.ring.capacity).toBe(4 * KIB);
    expect(cache.stats.windowShrinks).toBe(grown / (4 * KIB) - 1);
    // Readers were told: the last set announced is the one segment left.
    expect(announced.at(-1)!.length).toBe(1);
    expect(cache.stats.peakWindowBytes).toBe(grown);
  });

  it('windowBytes (deprecated) is a fixed window: it never grows', () => {
    const { cache, write } = setup({ windowBytes: 16 * KIB });
    write(200);
    expect(cache.ring.capacity).toBe(16 * KIB);
    expect(cache.stats.windowGrowths).toBe(0);
    expect(cache.stats.shortWindowEvictions).toBeGreaterThan(100);
  });

  it('plans segments of at most 16 MiB, and refuses bad window options with WC_ERR_INVALID', () => {
    expect(windowPlan({})).toEqual({ segmentBytes: 16 * 1024 * KIB, minSegments: 4, maxSegments: 32, floorMs: 75_000 });
    expect(windowPlan({ windowSeconds: 120, windowMinBytes: 64 * KIB, windowMaxBytes: 1024 * 1024 * KIB })).toEqual({
      segmentBytes: 1024 * KIB,
      minSegments: 1,
      maxSegments: 1024,
      floorMs: 120_000,
    });
    for (const bad of [
      { windowSeconds: 0 },
      { windowSeconds: Number.NaN },
      { windowMinBytes: 1000 },
      { windowMaxBytes: 2 ** 31 },
      { windowMinBytes: 64 * KIB, windowMaxBytes: 32 * KIB },
      { windowBytes: 64 * KIB, windowMaxBytes: 128 * KIB },
    ]) {
      expect(code(() => windowPlan(bad)), JSON.stringify(bad)).toBe(ErrorCodes.INVALID);
    }
  });
});
