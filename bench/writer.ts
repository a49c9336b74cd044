/**
 * The load: store writes issued straight to MemoryStorage from the main thread, paced to a rate
 * or as fast as the cache keeps up, and bounded in count and in time. Writes go out in small
 * synchronous batches between event-loop turns, so the reflector and the dispatchers (which run
 * on the same loop when inline) get their share, and a saturated main thread shows up as a
 * write rate that falls short of its target.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate, setTimeout } from 'node:timers/promises';

export interface WriteLoopOptions {
  /** Writes per second; null: as fast as `inFlight` allows. */
  rate: number | null;
  durationMs: number;
  maxWrites: number;
  /** Most writes per event-loop turn. */
  batch: number;
  /** With `maxInFlight`: writes not yet delivered; the loop waits while it exceeds the bound. */
  inFlight?: () => number;
  maxInFlight?: number;
  /** Issue write number `i`; must not throw (count failures itself). */
  write(i: number): void;
  /** Called about every `progressMs` with the writes so far. */
  onProgress?: (writes: number, elapsedMs: number) => void;
  progressMs?: number;
}

export interface WriteLoopResult {
  writes: number;
  /** performance.now() of the first and the last write. */
  firstAt: number;
  lastAt: number;
}

export async function runWrites(options: WriteLoopOptions): Promise<WriteLoopResult> {
  const { rate, durationMs, maxWrites, batch, write } = options;
  const progressMs = options.progressMs ?? 250;
  const start = performance.now();
  let writes = 0;
  let lastAt = start;
  let nextProgress = start + progressMs;
  for (;;) {
    const now = performance.now();
    const elapsed = now - start;
    if (elapsed >= durationMs || writes >= maxWrites) break;
    if (now >= nextProgress) {
      options.onProgress?.(writes, elapsed);
      nextProgress = now + progressMs;
    }
    let due = rate === null ? batch : Math.min(maxWrites, Math.floor((rate * elapsed) / 1000) + 1) - writes;
    if (options.inFlight !== undefined && options.maxInFlight !== undefined) {
      due = Math.min(due, options.maxInFlight - options.inFlight());
    }
    if (due <= 0) {
      // Sleep rather than spin: a spinning writer would show as a busy main thread.
      await setTimeout(1);
      continue;
    }
    const n = Math.min(due, batch, maxWrites - writes);
    for (let i = 0; i < n; i++) write(writes + i);
    writes += n;
    lastAt = performance.now();
    await setImmediate();
  }
  return { writes, firstAt: start, lastAt };
}
