/**
 * EtcdStorage against real etcd processes: the shared conformance suite, then the behaviours only
 * a real cluster can show (process kills, stalls, lost quorum, compaction, large values).
 *
 * Waits are bounded and fail with a message saying what did not happen; no assertion is on how
 * long something took.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, isWatchCacheError, type WatchCacheError } from '../../src/errors.js';
import { EtcdStorage, type EtcdStorageOptions, type EtcdWatchStreamEvent } from '../../src/storage/etcd.js';
import { prefixRange, progressRequestsAreOrdered } from '../../src/storage/etcd/wire.js';
import type { Storage, WatchBatch } from '../../src/storage/storage.js';
import { startEtcd, startEtcdCluster, type EtcdClusterHandle, type EtcdHandle } from '../helpers/etcd.js';
import { describeStorageConformance, eventsOf } from './conformance.js';

const enc = (s: string): Uint8Array => Buffer.from(s, 'utf8');

/** The one-member etcd shared by the conformance suite and the single-member cases. */
let shared: EtcdHandle | undefined;
async function sharedEtcd(): Promise<EtcdHandle> {
  shared ??= await startEtcd();
  return shared;
}

const opened: EtcdStorage[] = [];
function openStorage(options: EtcdStorageOptions): EtcdStorage {
  const storage = new EtcdStorage(options);
  opened.push(storage);
  return storage;
}

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await shared?.stop();
});

const uniquePrefix = (): string => `/etcd-test/${randomUUID()}/`;

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(20);
  }
}

/** Records the storage's watch stream notices. */
function streamLog() {
  const events: EtcdWatchStreamEvent[] = [];
  return {
    events,
    onWatchStreamEvent: (event: EtcdWatchStreamEvent) => {
      events.push(event);
    },
    restarts: () => events.filter((e) => e.type === 'restart'),
    describe: () => JSON.stringify(events),
  };
}

/** Reads a watch in the background, keeping every batch and how it ended. */
function consume(iterable: AsyncIterable<WatchBatch>) {
  const iterator = iterable[Symbol.asyncIterator]();
  const state = {
    batches: [] as WatchBatch[],
    error: undefined as unknown,
    ended: false,
    revisions: () => eventsOf(state.batches).map((e) => e.kv.modRevision),
    lastRevision: () => {
      const revisions = state.revisions();
      return revisions.length === 0 ? 0 : (revisions[revisions.length - 1] as number);
    },
    stop: async () => {
      await iterator.return?.();
      await finished;
    },
  };
  const finished = (async () => {
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        state.batches.push(next.value);
      }
    } catch (err) {
      state.error = err;
    } finally {
      state.ended = true;
    }
  })();
  return state;
}

type Consumer = ReturnType<typeof consume>;

async function waitForRevision(watch: Consumer, revision: number, timeoutMs: number): Promise<void> {
  await waitUntil(
    () => watch.lastRevision() >= revision || watch.ended,
    timeoutMs,
    `the watch delivered revision ${revision} (it is at ${watch.lastRevision()})`,
  );
  if (watch.lastRevision() < revision) {
    throw new Error(`the watch ended at revision ${watch.lastRevision()} before ${revision}: ${String(watch.error)}`);
  }
}

/**
 * Creates `key` and returns its commit revision, retrying through outages. A write whose answer
 * was lost may still have committed: the retry then finds the key, and its create revision is the
 * commit (keys are never rewritten), so the oracle records exactly what etcd committed.
 */
async function createCommitted(storage: Storage, key: string, value: Uint8Array, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return (await storage.create(key, value)).modRevision;
    } catch (err) {
      if (!isWatchCacheError(err)) throw err;
      if (err.code === ErrorCodes.ALREADY_EXISTS) {
        const existing = await storage.get(key).catch(() => null);
        if (existing?.item) return existing.item.createRevision;
      }
      if (Date.now() > deadline) throw new Error(`could not write ${key} within ${timeoutMs} ms: ${err.message}`);
      await sleep(25);
    }
  }
}

/** Writes `count` new keys one after the other, calling `before(i)` first; returns the commit revisions. */
async function writeKeys(
  storage: Storage,
  base: string,
  count: number,
  before?: (i: number) => Promise<void>,
): Promise<number[]> {
  const revisions: number[] = [];
  for (let i = 0; i < count; i++) {
    await before?.(i);
    revisions.push(await createCommitted(storage, `${base}k${String(i).padStart(5, '0')}`, enc(`v${i}`)));
  }
  return revisions;
}

function expectExactly(watch: Consumer, committed: readonly number[]): void {
  const seen = watch.revisions();
  const duplicates = seen.filter((r, i) => seen.indexOf(r) !== i);
  expect(duplicates, 'revisions delivered twice').toEqual([]);
  const missing = committed.filter((r) => !seen.includes(r));
  expect(missing, 'committed revisions never delivered').toEqual([]);
  expect(seen, 'delivered revisions, in order').toEqual(committed);
}

describeStorageConformance('EtcdStorage', async () => new EtcdStorage({ endpoints: (await sharedEtcd()).endpoints }));

describe('EtcdStorage helpers', () => {
  it('the prefix range end is computed on UTF-8 bytes', () => {
    expect(prefixRange('/a/').rangeEnd).toEqual(Buffer.from('/a0'));
    expect(prefixRange('/é').rangeEnd).toEqual(Buffer.from([0x2f, 0xc3, 0xaa]));
    expect(prefixRange('').key).toEqual(Buffer.from([0]));
    expect(prefixRange('').rangeEnd).toEqual(Buffer.from([0]));
  });

  it('progress request replies are trusted only from etcd releases that order them with events', () => {
    expect(progressRequestsAreOrdered('3.4.23')).toBe(false);
    expect(progressRequestsAreOrdered('3.4.31')).toBe(true);
    expect(progressRequestsAreOrdered('3.5.12')).toBe(false);
    expect(progressRequestsAreOrdered('3.5.13')).toBe(true);
    expect(progressRequestsAreOrdered('3.6.0')).toBe(true);
    expect(progressRequestsAreOrdered('garbage')).toBe(false);
  });

  it('a configured progress-notify interval makes progress trusted whatever the version; a bad one is WC_ERR_INVALID', async () => {
    const storage = new EtcdStorage({ endpoints: ['http://127.0.0.1:1'], progressNotifyIntervalMs: 500 });
    expect(storage.progressTrusted()).toBe(true);
    await storage.close();
    expect(() => new EtcdStorage({ endpoints: ['http://127.0.0.1:1'], progressNotifyIntervalMs: 0 })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID }),
    );
  });

  it('keepalive pings more frequent than etcd allows are refused with WC_ERR_INVALID', () => {
    expect(() => new EtcdStorage({ endpoints: ['http://127.0.0.1:1'], keepaliveTimeMs: 1000 })).toThrow(
      expect.objectContaining({ code: ErrorCodes.INVALID }),
    );
  });
});

describe('EtcdStorage on one etcd member', () => {
  let etcd: EtcdHandle;
  beforeAll(async () => {
    etcd = await sharedEtcd();
  });

  /** etcd's own count of open watchers (a gauge on the client URL's /metrics). */
  async function etcdWatchers(): Promise<number> {
    const text = await (await fetch(`${etcd.endpoint}/metrics`)).text();
    const match = /^etcd_debugging_mvcc_watcher_total (\d+)/m.exec(text);
    if (!match) throw new Error('etcd_debugging_mvcc_watcher_total not found in /metrics');
    return Number(match[1]);
  }

  async function waitForWatchers(expected: number, what: string): Promise<void> {
    let current = await etcdWatchers();
    const deadline = Date.now() + 10_000;
    while (current !== expected) {
      if (Date.now() > deadline) throw new Error(`etcd still has ${current} watchers, expected ${expected}, after ${what}`);
      await sleep(50);
      current = await etcdWatchers();
    }
  }

  it('breaking out of the loop, aborting and closing each remove the watch from etcd; close is idempotent', async () => {
    const storage = new EtcdStorage({ endpoints: etcd.endpoints });
    const base = uniquePrefix();
    const baseline = await etcdWatchers();
    const from = (await storage.currentRevision()) + 1;
    await storage.create(`${base}a`, enc('x'));

    for await (const batch of storage.watch(base, { fromRevision: from })) {
      expect(batch.kind).toBe('events');
      await waitForWatchers(baseline + 1, 'the first batch arrived');
      break;
    }
    await waitForWatchers(baseline, 'breaking out of the loop');

    const controller = new AbortController();
    const aborted = consume(storage.watch(base, { fromRevision: from, signal: controller.signal }));
    await waitUntil(() => aborted.batches.length > 0, 10_000, 'the watch to be aborted delivered its event');
    controller.abort();
    await waitUntil(() => aborted.ended, 5_000, 'the aborted watch ended');
    expect(aborted.error).toBeUndefined();
    await waitForWatchers(baseline, 'aborting the watch');

    const closed = consume(storage.watch(base, { fromRevision: from }));
    await waitUntil(() => closed.batches.length > 0, 10_000, 'the watch to be closed delivered its event');
    await storage.close();
    await waitUntil(() => closed.ended, 5_000, 'the watch ended after close()');
    expect(closed.error).toBeUndefined();
    await waitForWatchers(baseline, 'closing the storage');

    await storage.close();
    await expect(storage.get(`${base}a`)).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
    await expect(storage.watch(base, { fromRevision: from })[Symbol.asyncIterator]().next()).rejects.toMatchObject({
      code: ErrorCodes.CLOSED,
    });
  });

  it('a consumer that stops reading pauses the stream without losing events or tripping the liveness bound', async () => {
    const log = streamLog();
    const storage = openStorage({
      endpoints: etcd.endpoints,
      watchLivenessTimeoutMs: 1_000,
      onWatchStreamEvent: log.onWatchStreamEvent,
    });
    const base = uniquePrefix();
    const from = (await storage.currentRevision()) + 1;
    const iterator = storage.watch(base, { fromRevision: from })[Symbol.asyncIterator]();
    // Nobody reads while 300 revisions are committed one by one (many more batches than are
    // buffered before the stream is paused), nor for a while after: past the liveness bound.
    const committed = await writeKeys(storage, base, 300);
    await sleep(2_500);
    const seen: number[] = [];
    const deadline = Date.now() + 20_000;
    while (seen.length < committed.length) {
      if (Date.now() > deadline) throw new Error(`only ${seen.length} of ${committed.length} events arrived`);
      const step = await iterator.next();
      if (step.done) throw new Error('the watch ended early');
      if (step.value.kind === 'events') seen.push(...step.value.events.map((e) => e.kv.modRevision));
    }
    await iterator.return?.();
    expect(seen).toEqual(committed);
    expect(log.restarts(), log.describe()).toEqual([]);
  });

  it('compaction during a watch surfaces WC_ERR_COMPACTED with the compact revision', async () => {
    const storage = openStorage({ endpoints: etcd.endpoints });
    const base = uniquePrefix();
    const from = (await storage.currentRevision()) + 1;
    // etcd serves a watch that is behind in rounds of at most 1000 revisions, 100 ms apart; 5000
    // revisions of backlog keep it catching up long enough for the compaction to land first.
    const backlog = 5000;
    let next = 0;
    const committed: number[] = [];
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < backlog) {
          const i = next++;
          committed.push((await storage.create(`${base}k${String(i).padStart(5, '0')}`, enc(`v${i}`))).modRevision);
        }
      }),
    );
    committed.sort((a, b) => a - b);
    const last = committed[committed.length - 1] as number;

    const iterator = storage.watch(base, { fromRevision: from })[Symbol.asyncIterator]();
    const delivered: number[] = [];
    const first = await iterator.next();
    if (first.done || first.value.kind !== 'events') throw new Error(`expected a first events batch, got ${JSON.stringify(first)}`);
    delivered.push(...first.value.events.map((e) => e.kv.modRevision));
    if (first.value.revision >= last) throw new Error('the watch caught up in one batch; the backlog is too small to test this');
    const compactAt = await storage.currentRevision();
    await storage.compact(compactAt);

    let failure: unknown;
    const deadline = Date.now() + 15_000;
    try {
      for (;;) {
        if (Date.now() > deadline) throw new Error('the watch neither failed nor ended after compaction');
        const step = await iterator.next();
        if (step.done) throw new Error('the watch ended without reporting the compaction');
        if (step.value.kind === 'events') delivered.push(...step.value.events.map((e) => e.kv.modRevision));
        if (step.value.kind === 'events' && step.value.revision >= last) {
          throw new Error('the watch caught up before the compaction reached it; nothing to observe');
        }
      }
    } catch (err) {
      failure = err;
    }
    expect((failure as WatchCacheError).code, String(failure)).toBe(ErrorCodes.COMPACTED);
    expect((failure as WatchCacheError).details.compactRevision).toBe(compactAt);
    // What did arrive before the cancel is an exact prefix of the history.
    expect(delivered).toEqual(committed.slice(0, delivered.length));

    // The same compact revision is reported to a new watch and, through the probe, to a read.
    const again = iterableError(storage.watch(base, { fromRevision: from }));
    expect(await again).toMatchObject({ code: ErrorCodes.COMPACTED, details: { compactRevision: compactAt } });
    await expect(storage.get(`${base}k00000`, { revision: from })).rejects.toMatchObject({
      code: ErrorCodes.COMPACTED,
      compactRevision: compactAt,
    });
  });

  it('kill -9 and restart of etcd during a busy watch loses and duplicates nothing', async () => {
    const log = streamLog();
    const storage = openStorage({ endpoints: etcd.endpoints, onWatchStreamEvent: log.onWatchStreamEvent });
    const base = uniquePrefix();
    const from = (await storage.currentRevision()) + 1;
    const watch = consume(storage.watch(base, { fromRevision: from, progressNotify: true }));
    let restarted: Promise<void> | undefined;
    const committed = await writeKeys(storage, base, 400, async (i) => {
      if (i === 150) {
        // Kill while the watch is still draining what was just written.
        await etcd.kill9();
        restarted = sleep(300).then(() => etcd.restart());
      }
    });
    await restarted;
    await waitForRevision(watch, committed[committed.length - 1] as number, 20_000);
    expect(watch.error).toBeUndefined();
    expectExactly(watch, committed);
    expect(log.restarts().length, `the watch stream should have been restarted: ${log.describe()}`).toBeGreaterThan(0);
    await watch.stop();
  });

  /**
   * Stops the member under a running watch, waits for the storage to notice, resumes it, and
   * checks the watch carried on from its own revision. Returns how the stall was first noticed.
   */
  async function stallAndResume(options: Omit<EtcdStorageOptions, 'endpoints'>): Promise<EtcdWatchStreamEvent> {
    const log = streamLog();
    const storage = openStorage({ ...options, endpoints: etcd.endpoints, onWatchStreamEvent: log.onWatchStreamEvent });
    const base = uniquePrefix();
    const from = (await storage.currentRevision()) + 1;
    const watch = consume(storage.watch(base, { fromRevision: from }));
    const committed = await writeKeys(storage, base, 5);
    await waitForRevision(watch, committed[4] as number, 10_000);
    const restartsBefore = log.restarts().length;
    etcd.pause();
    try {
      await waitUntil(
        () => log.restarts().length > restartsBefore,
        20_000,
        `the stalled member is noticed (stream notices: ${log.describe()})`,
      );
    } finally {
      etcd.resume();
    }
    committed.push(...(await writeKeys(storage, `${base}after/`, 5)));
    await waitForRevision(watch, committed[committed.length - 1] as number, 20_000);
    expect(watch.error).toBeUndefined();
    expectExactly(watch, committed);
    await watch.stop();
    return log.restarts()[restartsBefore] as EtcdWatchStreamEvent;
  }

  it('a SIGSTOPped member is detected within the liveness bound, and the watch resumes once it answers again', async () => {
    // Decided behaviour: the liveness backstop (watchLivenessTimeoutMs) notices the silent stream
    // and restarts it; if the member answers again within watchUnavailableTimeoutMs the watch
    // resumes from its own revision with nothing lost (a longer stall: next cases). Keepalive
    // stays at its 30 s default so that it is the backstop that notices.
    const first = await stallAndResume({
      watchLivenessTimeoutMs: 1_500,
      dialTimeoutMs: 1_000,
      requestTimeoutMs: 2_000,
      watchUnavailableTimeoutMs: 60_000,
    });
    expect(first).toMatchObject({ reason: 'liveness' });
  });

  it('with the liveness backstop off, gRPC keepalive alone notices a SIGSTOPped member', async () => {
    const first = await stallAndResume({
      watchLivenessTimeoutMs: 0,
      // etcd's minimum ping interval; more frequent pings would be answered with GOAWAY.
      keepaliveTimeMs: 5_000,
      keepaliveTimeoutMs: 1_000,
      dialTimeoutMs: 1_000,
      requestTimeoutMs: 2_000,
      watchUnavailableTimeoutMs: 60_000,
    });
    expect(first).toMatchObject({ reason: 'stream-error' });
  });

  it('a member stalled past the unavailable bound ends the watch with WC_ERR_UNAVAILABLE', async () => {
    const storage = openStorage({
      endpoints: etcd.endpoints,
      watchLivenessTimeoutMs: 1_500,
      dialTimeoutMs: 1_000,
      keepaliveTimeMs: 5_000,
      keepaliveTimeoutMs: 1_000,
      watchUnavailableTimeoutMs: 3_000,
    });
    const base = uniquePrefix();
    const from = (await storage.currentRevision()) + 1;
    const watch = consume(storage.watch(base, { fromRevision: from }));
    const committed = await writeKeys(storage, base, 3);
    await waitForRevision(watch, committed[2] as number, 10_000);
    etcd.pause();
    try {
      await waitUntil(() => watch.ended, 20_000, 'the watch on the stalled member ended');
    } finally {
      etcd.resume();
    }
    expect((watch.error as WatchCacheError | undefined)?.code, String(watch.error)).toBe(ErrorCodes.UNAVAILABLE);
    expectExactly(watch, committed);
  });
});

/** The error a watch ends with (or a failure if it delivers or ends cleanly instead). */
async function iterableError(iterable: AsyncIterable<WatchBatch>): Promise<unknown> {
  const iterator = iterable[Symbol.asyncIterator]();
  try {
    const step = await iterator.next();
    throw new Error(`expected the watch to fail, got ${JSON.stringify(step)}`);
  } catch (err) {
    return err;
  } finally {
    await iterator.return?.();
  }
}

describe('EtcdStorage with large values', () => {
  let etcd: EtcdHandle;
  beforeAll(async () => {
    // etcd refuses requests over 1.5 MiB by default.
    etcd = await startEtcd({ maxRequestBytes: 8 * 1024 * 1024 });
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('a value larger than 4 MiB goes through list and watch', async () => {
    const storage = openStorage({ endpoints: etcd.endpoints });
    const base = uniquePrefix();
    const from = (await storage.currentRevision()) + 1;
    const size = 5 * 1024 * 1024;
    const values = [0x41, 0x42, 0x43].map((fill, i) => {
      const value = Buffer.alloc(size, fill);
      value.writeUInt32BE(i, 0);
      return value;
    });
    const revisions: number[] = [];
    for (const [i, value] of values.entries()) revisions.push((await storage.create(`${base}big${i}`, value)).modRevision);

    const listed = await storage.list(base);
    expect(listed.items.map((kv) => kv.key)).toEqual(values.map((_, i) => `${base}big${i}`));
    listed.items.forEach((kv, i) => expect(Buffer.from(kv.value).equals(values[i] as Buffer)).toBe(true));

    // Replaying all three needs one response of ~15 MiB, which etcd splits into fragments.
    const watch = consume(storage.watch(base, { fromRevision: from }));
    await waitForRevision(watch, revisions[2] as number, 20_000);
    const events = eventsOf(watch.batches);
    expect(events.map((e) => e.kv.modRevision)).toEqual(revisions);
    events.forEach((e, i) => expect(Buffer.from(e.kv.value).equals(values[i] as Buffer)).toBe(true));

    // And one live.
    const live = Buffer.alloc(size, 0x44);
    const liveRevision = (await storage.create(`${base}big-live`, live)).modRevision;
    await waitForRevision(watch, liveRevision, 20_000);
    const last = eventsOf(watch.batches).at(-1);
    expect(last && Buffer.from(last.kv.value).equals(live)).toBe(true);
    expect(watch.error).toBeUndefined();
    await watch.stop();
  });
});

describe('EtcdStorage on a 3-member cluster', () => {
  let cluster: EtcdClusterHandle;
  beforeAll(async () => {
    cluster = await startEtcdCluster(3);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  async function restartStopped(): Promise<void> {
    const stopped = cluster.members.filter((m) => !m.running);
    await Promise.all(stopped.map((m) => m.restart({ waitHealthy: false })));
    await Promise.all(cluster.members.map((m) => m.waitHealthy()));
  }

  it('losing one member of a 3-member cluster keeps the watch whole', async () => {
    const log = streamLog();
    const storage = openStorage({ endpoints: cluster.endpoints, onWatchStreamEvent: log.onWatchStreamEvent });
    const base = uniquePrefix();
    const from = (await storage.currentRevision()) + 1;
    const watch = consume(storage.watch(base, { fromRevision: from, progressNotify: true }));
    try {
      let victim: string | undefined;
      const committed = await writeKeys(storage, base, 300, async (i) => {
        if (i !== 100) return;
        const connected = log.events.filter((e) => e.type === 'connected');
        victim = connected[connected.length - 1]?.endpoint;
        const member = cluster.members.find((m) => m.endpoint === victim);
        if (!member) throw new Error(`no connected watch stream to kill: ${log.describe()}`);
        await member.kill9();
      });
      await waitForRevision(watch, committed[committed.length - 1] as number, 20_000);
      expect(watch.error).toBeUndefined();
      expectExactly(watch, committed);
      const after = log.events.slice(log.events.findIndex((e) => e.type === 'restart' && e.endpoint === victim));
      expect(
        after.some((e) => e.type === 'connected' && e.endpoint !== victim),
        `the watch should have moved off the killed member: ${log.describe()}`,
      ).toBe(true);
      await watch.stop();
    } finally {
      await restartStopped();
    }
  });

  it('a member that loses quorum cancels the watch stream (require-leader metadata reaches etcd)', async () => {
    const lonely = cluster.members[0] as EtcdClusterHandle['members'][number];
    const others = cluster.members.slice(1);
    const log = streamLog();
    const storage = openStorage({
      endpoints: [lonely.endpoint],
      // Without the liveness backstop only etcd itself can end a silent stream: a restart here
      // proves the hasleader metadata was seen.
      watchLivenessTimeoutMs: 0,
      watchUnavailableTimeoutMs: 60_000,
      onWatchStreamEvent: log.onWatchStreamEvent,
    });
    const writer = openStorage({ endpoints: cluster.endpoints });
    const base = uniquePrefix();
    const from = (await writer.currentRevision()) + 1;
    const watch = consume(storage.watch(base, { fromRevision: from }));
    try {
      const committed = await writeKeys(writer, base, 3);
      await waitForRevision(watch, committed[2] as number, 10_000);
      await Promise.all(others.map((m) => m.kill9()));
      await waitUntil(
        () => log.restarts().some((e) => /no leader/i.test(e.message)),
        15_000,
        `the leaderless member cancels the watch with "no leader" (stream notices: ${log.describe()})`,
      );
      await restartStopped();
      committed.push(...(await writeKeys(writer, `${base}after/`, 3)));
      await waitForRevision(watch, committed[committed.length - 1] as number, 30_000);
      expect(watch.error).toBeUndefined();
      expectExactly(watch, committed);
      await watch.stop();
    } finally {
      await restartStopped();
    }
  });
});
