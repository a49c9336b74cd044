/**
 * Micro-benchmarks (benny): the per-event building blocks the scenarios are made of, each with
 * fixed inputs, so a change in a scenario can be traced to a block. benny gives ops/s of one
 * call; a case that handles many items per call (a ring scan, a batch of matches) says how many,
 * and the report shows items/s and µs per item. Every result is folded into a sink that is
 * printed at the end, so V8 cannot drop the work as dead code.
 */
import { performance } from 'node:perf_hooks';
import { add, configure, suite } from 'benny';
import { isNativeAccelerationEnabled, Packr } from 'msgpackr';
import { jsonEventFrame } from '../src/encode/json-frame.js';
import { spliceResourceVersion, stampResourceVersion } from '../src/encode/json-object.js';
import { AttributeCodec } from '../src/ring/attributes.js';
import { decodeObject, encodeObject } from '../src/encode/protobuf/envelope.js';
import { protobufWatchFrame } from '../src/encode/protobuf/watch.js';
import { RecordKind } from '../src/ring/layout.js';
import { RingProducer } from '../src/ring/producer.js';
import { RingReader, SCAN_LAPPED } from '../src/ring/reader.js';
import { triggerHash } from '../src/ring/trigger-hash.js';
import { parseLabelSelector, matchesLabels, type Labels } from '../src/select/label-selector.js';
import { parseFieldSelector, matchesFields, type Fields } from '../src/select/field-selector.js';
import { AttributeReader, matches, type Attributes, type Predicate } from '../src/select/predicate.js';
import { matchesShard, parseShardSelector, shardHashes, shardRangeText } from '../src/select/shard-selector.js';
import { POD_SCHEMA, podObject } from './fixtures/pods.js';
import type { MicroCase, MicroResult, MicroSuite } from './types.js';
import type { MicroSize } from './profiles.js';

let blackhole = 0;

function consume(n: number): void {
  blackhole = (blackhole + n) | 0;
}

interface CaseSpec {
  name: string;
  itemsPerOp: number;
  fn: () => () => void;
}

async function runSuite(name: string, cases: CaseSpec[], size: MicroSize, notes: MicroSuite['notes']): Promise<MicroSuite> {
  const summary = await suite(
    name,
    ...cases.map((c) => add(c.name, c.fn)),
    configure({ cases: { minTime: size.minTime, maxTime: size.maxTime, minSamples: size.minSamples } }),
  );
  const out: MicroCase[] = summary.results.map((r) => {
    const spec = cases.find((c) => c.name === r.name)!;
    const itemsPerSec = r.ops * spec.itemsPerOp;
    return {
      name: r.name,
      opsPerSec: r.ops,
      marginPct: r.margin,
      samples: r.samples,
      itemsPerOp: spec.itemsPerOp,
      itemsPerSec,
      usPerItem: itemsPerSec > 0 ? 1e6 / itemsPerSec : 0,
    };
  });
  return { name, cases: out, notes };
}

const POD_BYTES = 2048;
const EVENT_POD_BYTES = 2900;

function storedPod(bytes: number, i = 0): Record<string, unknown> {
  return podObject({
    namespace: 'default',
    name: `web-${i}`,
    nodeName: `node-${i % 5000}`,
    labels: { app: `app-${i % 500}`, tier: 'web', track: 'stable' },
    bytes,
  }) as Record<string, unknown>;
}

function ringSuite(size: MicroSize): Promise<MicroSuite> {
  const pod = storedPod(POD_BYTES);
  const object = Buffer.from(JSON.stringify(pod));
  const key = '/registry/pods/default/web-0';
  const hash = triggerHash('node-0');
  const SCAN = 1000;
  // The attribute section the cache writes next to each object (and its previous version).
  const reader = new AttributeReader([...POD_SCHEMA.selectableFields]);
  const codec = new AttributeCodec(reader.fields);
  const attributes = codec.encode(reader.read(pod));
  return runSuite(
    'ring',
    [
      {
        name: 'append+publish, 2 KB object',
        itemsPerOp: 1,
        fn: () => {
          const producer = new RingProducer({ segmentBytes: 16 * 1024 * 1024 });
          let rv = 1;
          return () => {
            producer.append({ kind: RecordKind.MODIFIED, rv: rv++, key, object, attributes, triggerHash: hash });
            producer.publish();
          };
        },
      },
      {
        name: 'append+publish, 2 KB object + 2 KB previous (as MODIFIED)',
        itemsPerOp: 1,
        fn: () => {
          const producer = new RingProducer({ segmentBytes: 16 * 1024 * 1024 });
          let rv = 1;
          return () => {
            producer.append({ kind: RecordKind.MODIFIED, rv: rv++, key, object, prevObject: object, attributes, prevAttributes: attributes, triggerHash: hash, prevTriggerHash: hash });
            producer.publish();
          };
        },
      },
      {
        name: `reader scan of ${SCAN} records (header + object view)`,
        itemsPerOp: SCAN,
        fn: () => {
          const producer = new RingProducer({ segmentBytes: 16 * 1024 * 1024 });
          for (let rv = 1; rv <= SCAN; rv++) producer.append({ kind: RecordKind.MODIFIED, rv, key, object, prevObject: object, attributes, prevAttributes: attributes, triggerHash: hash });
          producer.publish();
          const reader = new RingReader(producer.buffers);
          const from = reader.oldestPosition();
          let acc = 0;
          const visit = (record: { triggerHash: number; object(): Uint8Array }): void => {
            acc += record.triggerHash + record.object()[0]!;
          };
          return () => {
            const end = reader.scan(from, SCAN, visit);
            if (end === SCAN_LAPPED) throw new Error('lapped');
            consume(acc + end);
          };
        },
      },
      {
        name: 'attribute section: encode (once per object version, main thread)',
        itemsPerOp: 1,
        fn: () => {
          const read = reader.read(pod);
          return () => consume(codec.encode(read).byteLength);
        },
      },
      {
        name: 'attribute section: decode (per record, in a dispatcher)',
        itemsPerOp: 1,
        fn: () => () => consume(codec.decode(attributes).name.length),
      },
      {
        name: 'what the section replaces: JSON.parse + AttributeReader.read of the object',
        itemsPerOp: 1,
        fn: () => () => consume(reader.read(JSON.parse(object.toString('utf8'))).name.length),
      },
    ],
    size,
    { objectBytes: object.byteLength, attributeBytes: attributes.byteLength, scanRecords: SCAN },
  );
}

function jsonFrameSuite(size: MicroSize): Promise<MicroSuite> {
  const pod = storedPod(EVENT_POD_BYTES);
  const stored = Buffer.from(JSON.stringify(pod));
  return runSuite(
    'json-frame',
    [
      {
        name: 'jsonEventFrame: splice the stored bytes',
        itemsPerOp: 1,
        fn: () => () => consume(jsonEventFrame('MODIFIED', stored).byteLength),
      },
      {
        name: 'Buffer.from(JSON.stringify({type, object}))',
        itemsPerOp: 1,
        fn: () => () => consume(Buffer.from(JSON.stringify({ type: 'MODIFIED', object: pod })).byteLength),
      },
    ],
    size,
    { objectBytes: stored.byteLength, frameBytes: jsonEventFrame('MODIFIED', stored).byteLength },
  );
}

function msgpackSuite(size: MicroSize): Promise<MicroSuite> {
  const pod = storedPod(EVENT_POD_BYTES);
  const packr = new Packr({ useRecords: false });
  return runSuite(
    'msgpack-vs-json',
    [
      {
        name: 'msgpackr pack (useRecords: false)',
        itemsPerOp: 1,
        fn: () => () => consume(packr.pack(pod).byteLength),
      },
      {
        name: 'Buffer.from(JSON.stringify(pod))',
        itemsPerOp: 1,
        fn: () => () => consume(Buffer.from(JSON.stringify(pod)).byteLength),
      },
    ],
    size,
    {
      jsonBytes: Buffer.byteLength(JSON.stringify(pod)),
      msgpackBytes: packr.pack(pod).byteLength,
      msgpackrNativeAcceleration: String(isNativeAccelerationEnabled),
    },
  );
}

/**
 * One watch event in each wire format: what a dispatcher pays per event and encoding (the frame
 * is shared by every watcher of that encoding), and what each costs on the wire. JSON splices the
 * stored bytes; msgpack packs the decoded object; protobuf encodes the decoded object once and
 * frames the encoded bytes per event type. Also the request-body side: protobuf decode vs JSON.parse.
 */
function wireFormatSuite(size: MicroSize): Promise<MicroSuite> {
  const pod = { apiVersion: 'v1', kind: 'Pod', ...storedPod(EVENT_POD_BYTES) };
  const stored = Buffer.from(JSON.stringify(pod));
  const packr = new Packr({ useRecords: false });
  const envelope = encodeObject(pod);
  return runSuite(
    'wire-formats',
    [
      { name: 'JSON watch frame (stored bytes spliced)', itemsPerOp: 1, fn: () => () => consume(jsonEventFrame('MODIFIED', stored).byteLength) },
      { name: 'msgpack watch frame (pack the decoded object)', itemsPerOp: 1, fn: () => () => consume(packr.pack({ type: 'MODIFIED', object: pod }).byteLength) },
      { name: 'protobuf: encode the object (once per event)', itemsPerOp: 1, fn: () => () => consume(encodeObject(pod).byteLength) },
      { name: 'protobuf: watch frame from the encoded object (per event type)', itemsPerOp: 1, fn: () => () => consume(protobufWatchFrame('MODIFIED', envelope).byteLength) },
      { name: 'request body: protobuf decode', itemsPerOp: 1, fn: () => () => consume(Object.keys(decodeObject(envelope)).length) },
      { name: 'request body: JSON.parse', itemsPerOp: 1, fn: () => () => consume(Object.keys(JSON.parse(stored.toString('utf8')) as object).length) },
      { name: 'stamp metadata.resourceVersion: splice into the stored bytes', itemsPerOp: 1, fn: () => () => consume(spliceResourceVersion(stored, 123456)!.byteLength) },
      {
        name: 'stamp metadata.resourceVersion: JSON.parse + stamp + JSON.stringify',
        itemsPerOp: 1,
        fn: () => () => consume(Buffer.from(JSON.stringify(stampResourceVersion(JSON.parse(stored.toString('utf8')) as object, 123456))).byteLength),
      },
    ],
    size,
    {
      jsonFrameBytes: jsonEventFrame('MODIFIED', stored).byteLength,
      msgpackFrameBytes: packr.pack({ type: 'MODIFIED', object: pod }).byteLength,
      protobufFrameBytes: protobufWatchFrame('MODIFIED', envelope).byteLength,
    },
  );
}

function selectorSuite(size: MicroSize): Promise<MicroSuite> {
  const N = 1000;
  const fieldsAllowed = [...POD_SCHEMA.selectableFields];
  const attributes = new AttributeReader(fieldsAllowed);
  const objects: Attributes[] = [];
  for (let i = 0; i < N; i++) {
    objects.push(
      attributes.read({
        metadata: {
          name: `web-${i}`,
          namespace: `ns-${i % 10}`,
          uid: `0b5c7a1e-${i.toString(16).padStart(4, '0')}-4c2b-9d7e-5f1a2b3c4d5e`,
          labels: { app: `app-${i % 50}`, tier: ['web', 'api', 'db'][i % 3]!, track: i % 2 === 0 ? 'stable' : 'canary' },
        },
        spec: { nodeName: `node-${i % 100}` },
        status: { phase: 'Running' },
      }),
    );
  }
  const labels: Labels[] = objects.map((o) => o.labels);
  const fields: Fields[] = objects.map((o) => o.fields);
  const labelText = 'app=app-7,tier in (web,api),!experimental';
  const label = parseLabelSelector(labelText);
  const field = parseFieldSelector('spec.nodeName=node-7', fieldsAllowed);
  const predicate: Predicate = { namespace: 'ns-7', label, field: parseFieldSelector('status.phase=Running', fieldsAllowed) };
  const uids = objects.map((_, i) => `0b5c7a1e-${i.toString(16).padStart(4, '0')}-4c2b-9d7e-5f1a2b3c4d5e`);
  const shard = parseShardSelector(shardRangeText('uid', 1, 4))!;
  return runSuite(
    'selectors',
    [
      {
        name: `label selector "${labelText}" × ${N} objects`,
        itemsPerOp: N,
        fn: () => () => {
          let n = 0;
          for (let i = 0; i < N; i++) if (matchesLabels(label, labels[i]!)) n++;
          consume(n);
        },
      },
      {
        name: `field selector "spec.nodeName=node-7" × ${N} objects`,
        itemsPerOp: N,
        fn: () => () => {
          let n = 0;
          for (let i = 0; i < N; i++) if (matchesFields(field, fields[i]!)) n++;
          consume(n);
        },
      },
      {
        name: `predicate (namespace + label + field) × ${N} objects`,
        itemsPerOp: N,
        fn: () => () => {
          let n = 0;
          for (let i = 0; i < N; i++) if (matches(predicate, objects[i]!)) n++;
          consume(n);
        },
      },
      {
        name: `shard hashes: FNV-1a 64 of uid (36 B) + namespace × ${N} objects (once per object version)`,
        itemsPerOp: N,
        fn: () => () => {
          let n = 0;
          for (let i = 0; i < N; i++) n ^= shardHashes(uids[i]!, objects[i]!.namespace).uidLo;
          consume(n);
        },
      },
      {
        name: `shardRange match (one of 4 shards) × ${N} objects`,
        itemsPerOp: N,
        fn: () => () => {
          let n = 0;
          for (let i = 0; i < N; i++) if (matchesShard(shard, objects[i]!.shard)) n++;
          consume(n);
        },
      },
      {
        name: 'parse a label selector (for scale: done once per watch)',
        itemsPerOp: 1,
        fn: () => () => consume(parseLabelSelector(labelText).requirements.length),
      },
    ],
    size,
    { objects: N },
  );
}

export async function runMicro(size: MicroSize, progress: (text: string, milestone?: boolean) => void): Promise<MicroResult> {
  const start = performance.now();
  const suites: MicroSuite[] = [];
  const all: Array<[string, (size: MicroSize) => Promise<MicroSuite>]> = [
    ['ring', ringSuite],
    ['json-frame', jsonFrameSuite],
    ['msgpack-vs-json', msgpackSuite],
    ['wire-formats', wireFormatSuite],
    ['selectors', selectorSuite],
  ];
  for (const [name, run] of all) {
    progress(`[micro] ${name}`, true);
    suites.push(await run(size));
  }
  // Keeps `blackhole` observable; the value itself means nothing.
  if (blackhole === 0x7fffffff) progress('[micro] improbable checksum', true);
  return { status: 'ok', durationMs: performance.now() - start, suites };
}
