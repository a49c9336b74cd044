/**
 * Watch frames and lists read back by a decoder written apart from the encoder: protobufjs with
 * the few messages it needs declared from k8s.io/api's and apimachinery's generated.proto.
 */
import { describe, expect, it } from 'vitest';
import { encodeList, encodeObject } from '../../../src/encode/protobuf/envelope.js';
import { protobufBookmarkFrame, protobufErrorFrame, protobufEventFrame, protobufWatchFrame } from '../../../src/encode/protobuf/watch.js';
import { createCacher } from '../../../src/cache/cacher.js';
import { newStatus } from '../../../src/status.js';
import { MemoryStorage } from '../../../src/storage/memory.js';
import { kubeProto } from '../../helpers/kube-proto.js';
import { POD_SCHEMA, Pods } from '../../helpers/pods.js';
import { pod } from './fixtures/objects.js';

const root = kubeProto(`
message ObjectMeta { optional string name = 1; optional string namespace = 3; optional string resourceVersion = 6; map<string, string> labels = 11; map<string, string> annotations = 12; }
message Container { optional string name = 1; optional string image = 2; }
message PodSpec { repeated Container containers = 2; optional string nodeName = 10; }
message Pod { optional ObjectMeta metadata = 1; optional PodSpec spec = 2; }
message ListMeta { optional string resourceVersion = 2; optional string continue = 3; }
message PodList { optional ListMeta metadata = 1; repeated Pod items = 2; }
message Status { optional ListMeta metadata = 1; optional string status = 2; optional string message = 3; optional string reason = 4; optional int32 code = 6; }
`);
const WatchEvent = root.lookupType('k8s.WatchEvent');
const Unknown = root.lookupType('k8s.Unknown');

interface Decoded {
  type: string;
  apiVersion: string;
  kind: string;
  object: Record<string, unknown>;
  envelope: Buffer;
}

/** Split a stream=watch byte stream into frames and decode each as kube clients do. */
function readStream(stream: Buffer): Decoded[] {
  const out: Decoded[] = [];
  let pos = 0;
  while (pos < stream.length) {
    const length = stream.readUInt32BE(pos);
    const event = WatchEvent.toObject(WatchEvent.decode(stream.subarray(pos + 4, pos + 4 + length)), { defaults: false }) as {
      type: string;
      object: { raw: Uint8Array };
    };
    pos += 4 + length;
    const envelope = Buffer.from(event.object.raw);
    expect(envelope.subarray(0, 4).toString('latin1')).toBe('k8s\0');
    const unknown = Unknown.toObject(Unknown.decode(envelope.subarray(4))) as { typeMeta: { apiVersion: string; kind: string }; raw: Uint8Array };
    const type = root.lookupType(`k8s.${unknown.typeMeta.kind}`);
    out.push({
      type: event.type,
      apiVersion: unknown.typeMeta.apiVersion,
      kind: unknown.typeMeta.kind,
      object: type.toObject(type.decode(unknown.raw), { defaults: false }),
      envelope,
    });
  }
  expect(pos).toBe(stream.length);
  return out;
}

describe('protobuf watch frames', () => {
  it('a stream of frames reads back, event by event, with an independent decoder', () => {
    const modified = { ...pod, metadata: { ...(pod.metadata as object), resourceVersion: '124000' } };
    const stream = Buffer.concat([
      protobufWatchFrame('ADDED', encodeObject(pod)),
      protobufWatchFrame('MODIFIED', encodeObject(modified)),
      protobufBookmarkFrame({ apiVersion: 'v1', kind: 'Pod' }, 125000, true),
      protobufEventFrame('DELETED', modified),
      protobufErrorFrame(newStatus(410, 'Expired', 'too old resource version: 1 (125000)')),
    ]);
    const events = readStream(stream);
    expect(events.map((e) => [e.type, e.kind])).toEqual([
      ['ADDED', 'Pod'],
      ['MODIFIED', 'Pod'],
      ['BOOKMARK', 'Pod'],
      ['DELETED', 'Pod'],
      ['ERROR', 'Status'],
    ]);
    const added = events[0]!.object as { metadata: Record<string, unknown>; spec: { nodeName: string; containers: { name: string; image: string }[] } };
    expect(added.metadata).toMatchObject({ name: 'web-7d4b9c6f5d-x2x9q', namespace: 'prod', resourceVersion: '123456', labels: { app: 'web', tier: 'frontend' } });
    expect(added.spec.nodeName).toBe('node-17');
    expect(added.spec.containers).toEqual([{ name: 'web', image: 'registry.example.com/shop/web:1.4.2' }]);
    expect((events[1]!.object.metadata as Record<string, unknown>).resourceVersion).toBe('124000');
    expect(events[2]!.object).toEqual({ metadata: { resourceVersion: '125000', annotations: { 'k8s.io/initial-events-end': 'true' } } });
    expect(events[4]!.object).toMatchObject({ status: 'Failure', reason: 'Expired', code: 410 });
    expect(events[4]!.apiVersion).toBe('v1');
  });

  it('a frame embeds the object bytes exactly as encoded, so one encoding serves every event and watcher', () => {
    const envelope = encodeObject(pod);
    const [added] = readStream(Buffer.from(protobufWatchFrame('ADDED', envelope)));
    expect(added!.envelope.equals(Buffer.from(envelope))).toBe(true);
  });

  it('lengths of large objects take multi-byte varints and still frame correctly', () => {
    const big = { ...pod, metadata: { ...(pod.metadata as object), annotations: { blob: 'x'.repeat(300_000) } } };
    const [event] = readStream(Buffer.concat([protobufWatchFrame('MODIFIED', encodeObject(big))]));
    expect(((event!.object.metadata as Record<string, unknown>).annotations as Record<string, string>).blob).toHaveLength(300_000);
  });

  it('a list reads back with its items as embedded Pods', () => {
    const names = ['a', 'b', 'c'];
    const bytes = Buffer.from(
      encodeList(
        'v1',
        'PodList',
        { resourceVersion: '77', continue: 'next' },
        names.map((name) => encodeObject({ ...pod, metadata: { name, namespace: 'prod' } })),
      ),
    );
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('k8s\0');
    const unknown = Unknown.toObject(Unknown.decode(bytes.subarray(4))) as { typeMeta: { kind: string }; raw: Uint8Array };
    expect(unknown.typeMeta.kind).toBe('PodList');
    const list = root.lookupType('k8s.PodList').toObject(root.lookupType('k8s.PodList').decode(unknown.raw)) as {
      metadata: unknown;
      items: { metadata: { name: string }; spec: { nodeName: string } }[];
    };
    expect(list.metadata).toEqual({ resourceVersion: '77', continue: 'next' });
    expect(list.items.map((i) => [i.metadata.name, i.spec.nodeName])).toEqual([
      ['a', 'node-17'],
      ['b', 'node-17'],
      ['c', 'node-17'],
    ]);
  });
});

describe('protobuf as a third watch codec', () => {
  it('a cacher watch in protobuf gets its initial events, the end bookmark, live events and a filtered DELETED as kube protobuf frames', async () => {
    const storage = new MemoryStorage();
    const pods = new Pods(storage);
    await pods.put({ name: 'a', nodeName: 'n1' });
    await pods.put({ name: 'b', nodeName: 'n2' });
    const cacher = createCacher({ storage, prefix: pods.prefix, ...POD_SCHEMA, workers: 0 });
    try {
      await cacher.ready();
      const frames: Uint8Array[] = [];
      const watch = await cacher.watchFrames(
        { encoding: 'protobuf', fieldSelector: 'spec.nodeName=n1', sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: true },
        { push: (frame) => frames.push(frame), end: () => undefined },
      );
      await pods.put({ name: 'c', nodeName: 'n1' });
      const moved = await pods.put({ name: 'a', nodeName: 'n2' });
      const deadline = Date.now() + 15_000;
      while (frames.length < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      watch.ack();
      watch.stop();
      const events = readStream(Buffer.concat(frames));
      expect(events.map((e) => [e.type, e.kind, (e.object.metadata as { name?: string }).name])).toEqual([
        ['ADDED', 'Pod', 'a'],
        ['BOOKMARK', 'Pod', undefined],
        ['ADDED', 'Pod', 'c'],
        ['DELETED', 'Pod', 'a'],
      ]);
      // The pod that left the selection is seen in its previous state, at the revision of the change.
      expect(events[3]!.object).toMatchObject({ metadata: { resourceVersion: String(moved) }, spec: { nodeName: 'n1' } });
    } finally {
      await cacher.stop();
    }
  });

  it('a watch in protobuf of a kind without a protobuf form is refused with 406', async () => {
    const storage = new MemoryStorage();
    const cacher = createCacher({ storage, prefix: '/registry/widgets/', kind: 'Widget', apiVersion: 'example.com/v1', workers: 0 });
    try {
      await cacher.ready();
      let refused: unknown;
      try {
        await cacher.watchFrames({ encoding: 'protobuf' }, { push: () => undefined, end: () => undefined });
      } catch (err) {
        refused = err;
      }
      expect(refused).toMatchObject({ code: 'WC_ERR_NOT_ACCEPTABLE', message: 'the protobuf watch encoding cannot encode Widget' });
    } finally {
      await cacher.stop();
    }
  });
});
