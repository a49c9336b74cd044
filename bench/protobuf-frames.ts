/**
 * Watch frame cost and size per wire format, on the benchmark's pods: JSON (splicing the stored
 * bytes, as the dispatchers do), msgpack (packing the decoded object) and protobuf (encoding the
 * decoded object once, then framing the encoded bytes per event). Also the request-body side:
 * decoding a protobuf body against JSON.parse. Run: `npx tsx bench/protobuf-frames.ts [--quick]`.
 */
import { performance } from 'node:perf_hooks';
import { Packr } from 'msgpackr';
import { jsonEventFrame } from '../src/encode/json-frame.js';
import { decodeObject, encodeObject } from '../src/encode/protobuf/envelope.js';
import { protobufWatchFrame } from '../src/encode/protobuf/watch.js';
import { podObject } from './fixtures/pods.js';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 5 : 15;
const ROUND_MS = 20;
const MAX_CALLS = 1 << 16;

let sink = 0;

/**
 * µs per call: the best of ROUNDS timed rounds (after a warm-up), each a bounded batch of calls.
 * The best round, not the mean, because the machine is shared: others' load only adds time.
 */
function measure(fn: () => number): number {
  for (let i = 0; i < 2000; i++) sink ^= fn();
  let calls = 64;
  let t = performance.now();
  while (performance.now() - t < ROUND_MS && calls < MAX_CALLS) {
    calls *= 2;
    t = performance.now();
    for (let i = 0; i < calls; i++) sink ^= fn();
  }
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    for (let i = 0; i < calls; i++) sink ^= fn();
    best = Math.min(best, ((performance.now() - start) * 1000) / calls);
  }
  return best;
}

const packr = new Packr({ useRecords: false });

function row(label: string, us: number, bytes: number | string): void {
  console.log(`${label.padEnd(58)} ${us.toFixed(2).padStart(8)} µs ${String(bytes).padStart(8)} B`);
}

for (const size of [0, 2048, 8192]) {
  const pod = podObject({ namespace: 'default', name: 'web-0', nodeName: 'node-0', labels: { app: 'app-0', tier: 'web', track: 'stable' }, bytes: size }) as Record<
    string,
    unknown
  >;
  const stored = Buffer.from(JSON.stringify(pod));
  const envelope = encodeObject(pod);
  const body = Buffer.from(envelope);
  console.log(`\npod, JSON ${stored.length} B${size === 0 ? ' (no padding)' : ''}`);
  row('json: jsonEventFrame(stored bytes)', measure(() => jsonEventFrame('MODIFIED', stored).byteLength), jsonEventFrame('MODIFIED', stored).byteLength);
  row('json: JSON.stringify(object) + frame', measure(() => jsonEventFrame('MODIFIED', Buffer.from(JSON.stringify(pod))).byteLength), '');
  row('msgpack: pack({type, object})', measure(() => packr.pack({ type: 'MODIFIED', object: pod }).byteLength), packr.pack({ type: 'MODIFIED', object: pod }).byteLength);
  row('protobuf: encodeObject + protobufWatchFrame', measure(() => protobufWatchFrame('MODIFIED', encodeObject(pod)).byteLength), protobufWatchFrame('MODIFIED', envelope).byteLength);
  row('protobuf: protobufWatchFrame(encoded once)', measure(() => protobufWatchFrame('MODIFIED', envelope).byteLength), '');
  row('protobuf: JSON.parse(stored) + encodeObject + frame', measure(() => protobufWatchFrame('MODIFIED', encodeObject(JSON.parse(stored.toString()) as Record<string, unknown>)).byteLength), '');
  row('request body: JSON.parse(stored)', measure(() => Object.keys(JSON.parse(stored.toString()) as object).length), stored.length);
  row('request body: protobuf decodeObject', measure(() => Object.keys(decodeObject(body)).length), body.length);
}
console.log(`\n(sink ${sink & 1})`);
