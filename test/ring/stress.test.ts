import { once } from 'node:events';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { RingProducer } from '../../src/ring/producer.js';
import { stressRecord } from './stress-records.js';

const RECORDS = 200_000;
const CAPACITY = 64 * 1024;
/** Hard bound on the whole run; the test fails rather than hang. */
const DEADLINE_MS = 90_000;

interface ReaderStats {
  accepted: number;
  slices: number;
  laps: number;
  corrupt: number;
  firstProblem: string | undefined;
  lastSeq: number;
  waits: number;
  attaches: number;
}

function startReader(producer: RingProducer, spinMicros: number): Worker {
  return new Worker(new URL('./stress-reader.worker.mjs', import.meta.url), {
    workerData: { buffers: producer.buffers, spinMicros },
  });
}

async function nextMessage<T>(worker: Worker, type: string): Promise<T> {
  for (;;) {
    const [message] = (await once(worker, 'message')) as [{ type: string } & T];
    if (message.type === type) return message;
  }
}

function withDeadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${DEADLINE_MS} ms`)), DEADLINE_MS);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Write RECORDS stress records in batches of 1..16, then check what every reader accepted. */
async function writeAndCheck(producer: RingProducer, readers: Worker[], afterAppend: (seq: number) => void = () => undefined) {
  await withDeadline(Promise.all(readers.map((w) => nextMessage(w, 'ready'))), 'reader start-up');
  const results = Promise.all(readers.map((w) => nextMessage<{ stats: ReaderStats }>(w, 'stats')));
  // A reader that throws (say, on a record it finds corrupt but not lapped) rejects this
  // while the producer is still busy; it is awaited below.
  results.catch(() => {});

  for (let seq = 0; seq < RECORDS; seq++) {
    producer.append(stressRecord(seq));
    // Batches of 1..16 records, like watch responses of varying size.
    if (seq % 16 < (seq >>> 4) % 16 || seq % 16 === 15) producer.publish();
    afterAppend(seq);
    if (seq % 4096 === 4095) await yieldToLoop();
  }
  producer.publish();
  const writePosition = producer.writePosition;
  for (const w of readers) w.postMessage({ type: 'stop', writePosition });

  const stats = (await withDeadline(results, 'readers')).map((m) => m.stats);
  for (const s of stats) {
    const report = JSON.stringify(s);
    expect(s.firstProblem, report).toBeUndefined();
    expect(s.corrupt, report).toBe(0);
    expect(s.accepted, report).toBeGreaterThan(0);
    expect(s.accepted, report).toBeLessThanOrEqual(RECORDS);
    // Each reader reached the end, whatever it lost to laps on the way.
    expect(s.lastSeq, report).toBe(RECORDS - 1);
  }
  expect(producer.nextSeq).toBe(RECORDS);
  return stats;
}

describe('ring under concurrent readers', () => {
  it(
    'worker readers accept only intact records in sequence, or detect the lap and resync',
    async () => {
      // Starts just below 2^32 so that the position wrap-around happens under load too.
      const producer = new RingProducer({ segmentBytes: CAPACITY, initialPosition: 0xfff0_0000 });
      const readers = [startReader(producer, 0), startReader(producer, 200)];
      try {
        await writeAndCheck(producer, readers);
      } finally {
        await Promise.all(readers.map((w) => w.terminate()));
      }
    },
    DEADLINE_MS + 30_000,
  );

  it(
    'while the ring grows, recycles and drops segments, worker readers are never torn and never see records out of order',
    async () => {
      const readers: Worker[] = [];
      // Phases of 8192 records: one grows at every new segment (up to the cap), the next only
      // recycles and drops a segment every 1024 records; each new set is posted to the readers
      // before anything is written into a new segment (I8).
      let growing = true;
      const producer = new RingProducer({
        segmentBytes: CAPACITY,
        minSegments: 1,
        maxSegments: 8,
        initialPosition: 0xfff0_0000,
        shouldGrow: () => growing,
        onSegments: (segments) => {
          for (const w of readers) w.postMessage({ type: 'segments', segments });
        },
      });
      readers.push(startReader(producer, 0), startReader(producer, 200));
      let grown = 0;
      let dropped = 0;
      let peak = 0;
      try {
        const stats = await writeAndCheck(producer, readers, (seq) => {
          growing = (seq >>> 13) % 2 === 0;
          if (!growing && seq % 1024 === 1023 && producer.dropOldestSegment()) dropped++;
          if (producer.segmentCount > peak) {
            grown += producer.segmentCount - Math.max(peak, 1);
            peak = producer.segmentCount;
          }
        });
        // The run did what it claims: the ring reached the cap, shrank, and readers took new sets.
        expect(peak).toBe(8);
        expect(grown).toBeGreaterThan(0);
        expect(dropped).toBeGreaterThan(0);
        for (const s of stats) expect(s.attaches).toBeGreaterThan(0);
      } finally {
        await Promise.all(readers.map((w) => w.terminate()));
      }
    },
    DEADLINE_MS + 30_000,
  );
});
