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

describe('ring under concurrent readers', () => {
  it(
    'worker readers accept only intact records in sequence, or detect the lap and resync',
    async () => {
      // Starts just below 2^32 so that the position wrap-around happens under load too.
      const producer = new RingProducer({ segmentBytes: CAPACITY, initialPosition: 0xfff0_0000 });
      const readers = [startReader(producer, 0), startReader(producer, 200)];
      try {
        await withDeadline(Promise.all(readers.map((w) => nextMessage(w, 'ready'))), 'reader start-up');
        const results = Promise.all(readers.map((w) => nextMessage<{ stats: ReaderStats }>(w, 'stats')));
        // A reader that throws (say, on a record it finds corrupt but not lapped) rejects this
        // while the producer is still busy; it is awaited below.
        results.catch(() => {});

        for (let seq = 0; seq < RECORDS; seq++) {
          producer.append(stressRecord(seq));
          // Batches of 1..16 records, like watch responses of varying size.
          if (seq % 16 < (seq >>> 4) % 16 || seq % 16 === 15) producer.publish();
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
      } finally {
        await Promise.all(readers.map((w) => w.terminate()));
      }
    },
    DEADLINE_MS + 30_000,
  );
});
