// Reader side of the ring stress test (stress.test.ts), on a worker thread. Plain ESM because a
// worker cannot load TypeScript on Node 20 by itself; tsx's tsImport loads the real reader.
//
// Protocol, exactly as partition code would do it: scan a slice, check each record on the fly
// (provisionally: it may be torn), and only when scan() returns a position (the slice validated)
// count the slice; a problem found in a validated slice is a real corruption. On SCAN_LAPPED,
// drop the slice and resync to the window start.
import { parentPort, workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

const { RingReader, SCAN_LAPPED } = await tsImport('../../src/ring/reader.ts', import.meta.url);
const { checkStressRecord } = await tsImport('./stress-records.ts', import.meta.url);

const { buffers, spinMicros } = workerData;
const reader = new RingReader(buffers);

/** Set by the 'stop' message: the final write position and the last seq the producer wrote. */
let stop;
// Also the ref'd handle that keeps this worker alive while it sits in Atomics.waitAsync.
// A 'segments' message is the producer's new set of segments (the ring grew or shrank).
parentPort.on('message', (message) => {
  if (message.type === 'stop') stop = message;
  if (message.type === 'segments') {
    reader.attach(message.segments);
    stats.attaches++;
  }
});

const stats = { accepted: 0, slices: 0, laps: 0, corrupt: 0, firstProblem: undefined, lastSeq: -1, waits: 0, attaches: 0 };

let expected = -1; // the seq the next record must carry; -1 right after a (re)sync
let sliceExpected = -1;
let sliceCount = 0;
let sliceProblem;

function visit(record) {
  if (sliceProblem !== undefined) return;
  if (sliceExpected !== -1 && record.seq !== sliceExpected) {
    sliceProblem = `seq ${record.seq} where ${sliceExpected} was due`;
    return;
  }
  sliceProblem = checkStressRecord(record);
  sliceExpected = (record.seq + 1) >>> 0;
  sliceCount++;
}

function spin(micros) {
  const until = process.hrtime.bigint() + BigInt(micros * 1000);
  while (process.hrtime.bigint() < until);
}

parentPort.postMessage({ type: 'ready' });

let pos = reader.oldestPosition();
for (;;) {
  const seq = reader.publishSeq();
  sliceExpected = expected;
  sliceCount = 0;
  sliceProblem = undefined;
  const next = reader.scan(pos, 64, visit);
  if (next === SCAN_LAPPED) {
    stats.laps++;
    pos = reader.oldestPosition();
    expected = -1;
    continue;
  }
  if (sliceProblem !== undefined) {
    stats.corrupt++;
    stats.firstProblem ??= sliceProblem;
  }
  stats.slices++;
  stats.accepted += sliceCount;
  if (sliceCount !== 0) stats.lastSeq = (sliceExpected - 1) >>> 0;
  expected = sliceExpected;
  if (next !== pos) {
    pos = next;
    // A deliberately slow reader gets lapped now and then; the fast one mostly does not.
    if (spinMicros > 0) spin(spinMicros);
    continue;
  }
  if (stop !== undefined && pos === stop.writePosition) break;
  stats.waits++;
  const waited = reader.waitForPublish(seq, 20);
  if (typeof waited !== 'string') await waited;
}

parentPort.postMessage({ type: 'stats', stats });
