/**
 * The dispatcher (the partition code) on its own: a RingProducer driven by hand the way the
 * watch cache writes it, a Dispatcher whose `post` records what it says and whose `schedule`
 * only queues callbacks, so that nothing runs unless the test runs it. No clock, no timers.
 */
import { describe, expect, it, vi } from 'vitest';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { EVERYTHING_FIELDS, parseFieldSelector } from '../../src/select/field-selector.js';
import { POD_SELECTABLE_FIELDS } from '../../src/server/registry.js';
import { EVERYTHING_LABELS, parseLabelSelector } from '../../src/select/label-selector.js';
import { AttributeReader, type Predicate } from '../../src/select/predicate.js';
import { AttributeCodec } from '../../src/ring/attributes.js';
import type { DeliveryBatch, DispatcherInput, DispatcherOutput, DispatchLimits, WatcherAcks, WatcherFraming, WatcherSpec } from '../../src/dispatch/protocol.js';
import { jsonEventFrame } from '../../src/encode/json-frame.js';
import type { WatchFormat } from '../../src/encode/codecs.js';
import { unpack } from 'msgpackr';
import { ErrorCodes, type WireError } from '../../src/errors.js';
import { RecordKind } from '../../src/ring/layout.js';
import { RingProducer, type RingRecordInput } from '../../src/ring/producer.js';
import { triggerHash } from '../../src/ring/trigger-hash.js';
import { kubeProto } from '../helpers/kube-proto.js';

const PROTO = kubeProto(`
message ObjectMeta { optional string name = 1; optional string namespace = 3; optional string resourceVersion = 6; }
message PodSpec { optional string nodeName = 10; }
message Pod { optional ObjectMeta metadata = 1; optional PodSpec spec = 2; }
`);
const WATCH_EVENT = PROTO.lookupType('k8s.WatchEvent');
const UNKNOWN = PROTO.lookupType('k8s.Unknown');
const POD = PROTO.lookupType('k8s.Pod');

// ---- pods and the ring, written as the watch cache writes them -------------------------------

interface Pod {
  name: string;
  namespace?: string;
  node?: string;
  labels?: Record<string, string>;
  /** With apiVersion and kind, as the server stores objects (what protobuf encodes by). */
  typed?: boolean;
}

/** A pod as JSON with metadata.resourceVersion = rv: the bytes a ring record carries. */
function podJson(pod: Pod, rv: number): Uint8Array {
  const metadata: Record<string, unknown> = { name: pod.name, namespace: pod.namespace ?? 'default', resourceVersion: String(rv) };
  if (pod.labels !== undefined) metadata.labels = pod.labels;
  const object: Record<string, unknown> = pod.typed === true ? { apiVersion: 'v1', kind: 'Pod', metadata } : { metadata };
  if (pod.node !== undefined) object.spec = { nodeName: pod.node };
  return Buffer.from(JSON.stringify(object));
}

/** The dispatcher's selectable fields (its config below), and the cache's encoder of attribute sections for them. */
const SELECTABLE = ['spec.nodeName', 'status.phase'];
const attributeReader = new AttributeReader(SELECTABLE);
const sections = new AttributeCodec(attributeReader.fields);

/** A pod's attribute section, as the watch cache puts it in the record next to the pod's bytes. */
function podAttributes(pod: Pod): Uint8Array {
  return sections.encode(attributeReader.read(JSON.parse(Buffer.from(podJson(pod, 0)).toString())));
}

function keyOf(pod: { name: string; namespace?: string }): string {
  return `/registry/pods/${pod.namespace ?? 'default'}/${pod.name}`;
}

function hashOf(pod: Pod): number {
  return pod.node === undefined ? 0 : triggerHash(pod.node);
}

interface Event {
  type: string;
  rv: number;
  name: string;
  object: Record<string, unknown>;
}

/** A frame as a client sees it. */
function decodeFrame(frame: Uint8Array): Event {
  const parsed = JSON.parse(Buffer.from(frame).toString()) as { type: string; object: { metadata: Record<string, unknown> } };
  const metadata = parsed.object.metadata;
  return {
    type: parsed.type,
    rv: Number(metadata.resourceVersion),
    name: typeof metadata.name === 'string' ? metadata.name : '',
    object: parsed.object as Record<string, unknown>,
  };
}

function predicate(options: { label?: string; field?: string; namespace?: string; name?: string } = {}): Predicate {
  return {
    label: options.label === undefined ? EVERYTHING_LABELS : parseLabelSelector(options.label),
    field: options.field === undefined ? EVERYTHING_FIELDS : parseFieldSelector(options.field, POD_SELECTABLE_FIELDS),
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    ...(options.name === undefined ? {} : { name: options.name }),
  };
}

const ROOMY: DispatchLimits = { bufferEvents: 1_000_000, bufferBytes: 1 << 30, stallBudgetMs: 1_000 };

interface HarnessOptions {
  capacity?: number;
  limits?: DispatchLimits;
  sliceRecords?: number;
  /** The RV the store is at before the first write. */
  revision?: number;
}

interface RegisterOptions {
  predicate?: Predicate;
  /** The trigger value the watcher is pinned to; its predicate then requires spec.nodeName=node. */
  node?: string;
  /** An explicit trigger hash (default: that of `node`, or 0). */
  triggerHash?: number;
  /** Default: the producer's write position (a watch from "now"). */
  start?: number;
  /** Default: the last RV written. */
  floor?: number;
  epoch?: number;
  bookmarks?: boolean;
  deadline?: number;
  now?: number;
  encoding?: WatchFormat;
  framing?: WatcherFraming;
  acks?: WatcherAcks;
}

/** The payload of one HTTP/1.1 chunk `hex(len)\r\n<payload>\r\n`, checked byte for byte. */
function chunkPayload(chunk: Uint8Array): Buffer {
  const text = Buffer.from(chunk);
  const eol = text.indexOf('\r\n');
  const size = text.subarray(0, eol).toString('latin1');
  expect(size).toMatch(/^[0-9a-f]+$/);
  const length = parseInt(size, 16);
  expect(text.byteLength).toBe(eol + 2 + length + 2);
  expect(text.subarray(eol + 2 + length).toString('latin1')).toBe('\r\n');
  return text.subarray(eol + 2, eol + 2 + length);
}

/** The JSON frames of a chunk's payload (each `{...}\n`). */
function splitFrames(payload: Buffer): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let at = 0; at < payload.byteLength; ) {
    const end = payload.indexOf(0x0a, at) + 1;
    frames.push(payload.subarray(at, end));
    at = end;
  }
  return frames;
}

/**
 * The watch cache's side of the ring (state by key, RVs, ADDED/MODIFIED/DELETED/PROGRESS records
 * with stamped bytes and trigger hashes), the dispatcher, and a consumer per watcher.
 */
class Harness {
  readonly ring: RingProducer;
  readonly dispatcher: Dispatcher;
  /** Everything the dispatcher posted, in order. */
  readonly outputs: DispatcherOutput[] = [];
  /** Callbacks the dispatcher asked to run later; run by settle(). */
  readonly scheduled: Array<() => void> = [];
  /** Ring position of the record at each RV. */
  readonly positions = new Map<number, number>();
  readonly received = new Map<number, Uint8Array[]>();
  /** The chunks each `chunked` watcher received (its frames are also in `received`). */
  readonly chunks = new Map<number, Uint8Array[]>();
  readonly closed = new Map<number, WireError | undefined>();
  revision: number;
  readonly #state = new Map<string, { pod: Pod; rv: number }>();

  constructor(options: HarnessOptions = {}) {
    this.ring = new RingProducer({ segmentBytes: options.capacity ?? 1 << 16 });
    this.revision = options.revision ?? 9;
    this.dispatcher = new Dispatcher(
      {
        ring: this.ring.buffers,
        selectableFields: SELECTABLE,
        kind: 'Pod',
        apiVersion: 'v1',
        limits: options.limits ?? ROOMY,
        ...(options.sliceRecords === undefined ? {} : { sliceRecords: options.sliceRecords }),
      },
      (message) => this.#record(message),
      (fn) => this.scheduled.push(fn),
    );
  }

  // -- the producer side --

  /** Append a raw record (not published). */
  append(record: RingRecordInput): number {
    const position = this.ring.append(record);
    this.positions.set(record.rv, position);
    return position;
  }

  /** Create or update a pod at the next RV (not published); returns the RV. */
  put(pod: Pod, options: { withoutPrev?: boolean } = {}): number {
    const rv = ++this.revision;
    const key = keyOf(pod);
    const prev = this.#state.get(key);
    const record: RingRecordInput = {
      kind: prev === undefined ? RecordKind.ADDED : RecordKind.MODIFIED,
      rv,
      key,
      object: podJson(pod, rv),
      attributes: podAttributes(pod),
      triggerHash: hashOf(pod),
    };
    if (prev !== undefined && options.withoutPrev !== true) {
      record.prevObject = podJson(prev.pod, prev.rv);
      record.prevAttributes = podAttributes(prev.pod);
      record.prevTriggerHash = hashOf(prev.pod);
    }
    this.append(record);
    this.#state.set(key, { pod, rv });
    return rv;
  }

  /** Delete a pod at the next RV (not published): the record carries its last state at that RV. */
  del(name: string, namespace = 'default'): number {
    const rv = ++this.revision;
    const key = keyOf({ name, namespace });
    const prev = this.#state.get(key);
    if (prev === undefined) throw new Error(`no pod ${key}`);
    this.append({ kind: RecordKind.DELETED, rv, key, object: podJson(prev.pod, rv), attributes: podAttributes(prev.pod), triggerHash: hashOf(prev.pod) });
    this.#state.delete(key);
    return rv;
  }

  /** The store reported progress to `rv` with no event (not published). */
  progress(rv = this.revision + 1): number {
    this.revision = rv;
    this.append({ kind: RecordKind.PROGRESS, rv });
    return rv;
  }

  publish(): void {
    this.ring.publish();
    this.send({ type: 'publish' });
  }

  // -- the cacher side --

  send(message: DispatcherInput): void {
    this.dispatcher.handle(message);
  }

  register(id: number, options: RegisterOptions = {}): void {
    const node = options.node;
    const spec: WatcherSpec = {
      id,
      predicate: options.predicate ?? (node === undefined ? predicate() : predicate({ field: `spec.nodeName=${node}` })),
      triggerHash: options.triggerHash ?? (node === undefined ? 0 : triggerHash(node)),
      start: options.start ?? this.ring.writePosition,
      epoch: options.epoch ?? this.ring.epoch,
      floor: options.floor ?? this.revision,
      bookmarks: options.bookmarks ?? false,
      now: options.now ?? 0,
    };
    if (options.deadline !== undefined) spec.deadline = options.deadline;
    if (options.encoding !== undefined) spec.encoding = options.encoding;
    if (options.framing !== undefined) spec.framing = options.framing;
    if (options.acks !== undefined) spec.acks = options.acks;
    this.received.set(id, []);
    if (options.framing === 'chunked') this.chunks.set(id, []);
    this.send({ type: 'register', watcher: spec });
  }

  /** Run what the dispatcher scheduled until it schedules nothing more. */
  settle(): void {
    for (let turns = 0; this.scheduled.length > 0; turns++) {
      if (turns > 10_000) throw new Error('the dispatcher keeps rescheduling itself');
      this.scheduled.shift()!();
    }
  }

  /** Publish what was appended and let the dispatcher deliver it. */
  flush(): void {
    this.publish();
    this.settle();
  }

  tick(now: number): void {
    this.send({ type: 'tick', now });
  }

  /** The consumer of `id` has taken its first `events` frames (default: all it received). */
  ack(id: number, events = this.frames(id).length): void {
    const bytes = this.frames(id)
      .slice(0, events)
      .reduce((n, f) => n + f.byteLength, 0);
    this.send({ type: 'acks', ids: [id], events: [events], bytes: [bytes] });
  }

  // -- what came out --

  frames(id: number): Uint8Array[] {
    return this.received.get(id) ?? [];
  }

  events(id: number): Event[] {
    return this.frames(id).map(decodeFrame);
  }

  rvs(id: number): number[] {
    return this.events(id).map((e) => e.rv);
  }

  summary(id: number): string[] {
    return this.events(id).map((e) => `${e.type} ${e.name}@${e.rv}`);
  }

  batches(): DeliveryBatch[] {
    return this.outputs.flatMap((m) => (m.type === 'deliver' ? [m.batch] : []));
  }

  #record(message: DispatcherOutput): void {
    this.outputs.push(message);
    if (message.type === 'deliver') {
      const { ids, refs, buffers, chunkStart, chunkCounts } = message.batch;
      expect(ids.length).toBe(refs.length);
      expect(chunkCounts.length).toBe(2 * (buffers.length - chunkStart));
      for (let i = 0; i < ids.length; i++) {
        const list = this.received.get(ids[i]!);
        if (list === undefined) throw new Error(`frame for unknown watcher ${ids[i]}`);
        if (this.closed.has(ids[i]!)) throw new Error(`frame for closed watcher ${ids[i]}`);
        const k = refs[i]!;
        const chunks = this.chunks.get(ids[i]!);
        if (chunks === undefined) {
          // A frames watcher's buffer is one frame.
          expect(k).toBeLessThan(chunkStart);
          list.push(buffers[k]!);
        } else {
          expect(k).toBeGreaterThanOrEqual(chunkStart);
          const c = 2 * (k - chunkStart);
          const frames = splitFrames(chunkPayload(buffers[k]!));
          expect([chunkCounts[c], chunkCounts[c + 1]]).toEqual([frames.length, frames.reduce((n, f) => n + f.byteLength, 0)]);
          chunks.push(buffers[k]!);
          list.push(...frames);
        }
      }
    } else if (message.type === 'closed') {
      if (this.closed.has(message.id)) throw new Error(`watcher ${message.id} closed twice`);
      this.closed.set(message.id, message.error);
    }
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

// ---- trigger routing ---------------------------------------------------------------------------

describe('dispatcher: trigger routing', () => {
  it('a watcher pinned to a node gets the records of its node only; untriggered watchers get everything their predicate matches', () => {
    const h = new Harness();
    h.register(1, { node: 'node-1' });
    h.register(2, { node: 'node-2' });
    h.register(3);
    h.register(4, { predicate: predicate({ label: 'app=web' }) });
    h.put({ name: 'a', node: 'node-1', labels: { app: 'web' } });
    h.put({ name: 'b', node: 'node-2' });
    h.put({ name: 'c', node: 'node-3', labels: { app: 'web' } });
    h.put({ name: 'd' });
    h.flush();
    expect(h.summary(1)).toEqual(['ADDED a@10']);
    expect(h.summary(2)).toEqual(['ADDED b@11']);
    expect(h.summary(3)).toEqual(['ADDED a@10', 'ADDED b@11', 'ADDED c@12', 'ADDED d@13']);
    expect(h.summary(4)).toEqual(['ADDED a@10', 'ADDED c@12']);
  });

  it('a pod moving node-1 → node-2 is DELETED for node-1 (previous object at the new RV) and ADDED for node-2', () => {
    const h = new Harness();
    h.put({ name: 'p', node: 'node-1', labels: { v: '1' } });
    h.flush();
    h.register(1, { node: 'node-1' });
    h.register(2, { node: 'node-2' });
    h.register(3);
    const moved = h.put({ name: 'p', node: 'node-2', labels: { v: '2' } });
    h.flush();

    const [deleted] = h.events(1);
    expect(h.events(1)).toHaveLength(1);
    expect(deleted!.type).toBe('DELETED');
    expect(deleted!.rv).toBe(moved);
    expect(deleted!.object).toEqual({ metadata: { name: 'p', namespace: 'default', resourceVersion: String(moved), labels: { v: '1' } }, spec: { nodeName: 'node-1' } });

    const [added] = h.events(2);
    expect(h.events(2)).toHaveLength(1);
    expect(added!.type).toBe('ADDED');
    expect(added!.object).toEqual({ metadata: { name: 'p', namespace: 'default', resourceVersion: String(moved), labels: { v: '2' } }, spec: { nodeName: 'node-2' } });

    expect(h.summary(3)).toEqual([`MODIFIED p@${moved}`]);
  });

  it('a pod updated on its node and deleted from it reaches that node’s watcher as MODIFIED and DELETED', () => {
    const h = new Harness();
    h.register(1, { node: 'node-1' });
    h.put({ name: 'p', node: 'node-1' });
    h.put({ name: 'p', node: 'node-1', labels: { x: 'y' } });
    h.del('p');
    h.flush();
    expect(h.summary(1)).toEqual(['ADDED p@10', 'MODIFIED p@11', 'DELETED p@12']);
    expect(h.events(1)[2]!.object.metadata).toEqual({ name: 'p', namespace: 'default', resourceVersion: '12', labels: { x: 'y' } });
  });

  it('records of other trigger values are never decoded when only pinned watchers could want them', () => {
    const h = new Harness();
    h.register(1, { node: 'node-1' });
    // Bytes that are not JSON: decoding them would throw.
    h.append({ kind: RecordKind.ADDED, rv: 10, key: keyOf({ name: 'x' }), object: Buffer.from('not json {'), triggerHash: triggerHash('node-3') });
    h.append({ kind: RecordKind.ADDED, rv: 11, key: keyOf({ name: 'y' }), object: Buffer.from('not json {') }); // no trigger value
    h.revision = 11;
    h.put({ name: 'p', node: 'node-1' });
    const decode = vi.spyOn(AttributeCodec.prototype, 'decode');
    try {
      h.flush();
      expect(decode).toHaveBeenCalledTimes(1); // node-1's record only
    } finally {
      decode.mockRestore();
    }
    expect(h.summary(1)).toEqual(['ADDED p@12']);
  });

  it('the attributes of a record are decoded once however many watchers look at it (the previous ones only when needed), and its JSON never', () => {
    const h = new Harness();
    h.put({ name: 'p', node: 'node-1' });
    h.flush();
    for (let id = 1; id <= 5; id++) h.register(id);
    h.register(6, { node: 'node-1' });
    // The harness parses JSON to write the records as the cache does; only flush() is the dispatcher.
    const flush = (): { decodes: number; parses: number } => {
      const decode = vi.spyOn(AttributeCodec.prototype, 'decode');
      const parse = vi.spyOn(JSON, 'parse');
      try {
        h.flush();
        return { decodes: decode.mock.calls.length, parses: parse.mock.calls.length };
      } finally {
        decode.mockRestore();
        parse.mockRestore();
      }
    };
    h.put({ name: 'q', node: 'node-1' }); // ADDED: the object only
    expect(flush()).toEqual({ decodes: 1, parses: 0 });
    h.put({ name: 'p', node: 'node-1', labels: { v: '2' } }); // MODIFIED: object and previous object
    expect(flush()).toEqual({ decodes: 2, parses: 0 });
    expect(h.summary(1)).toEqual(['ADDED q@11', 'MODIFIED p@12']);
    expect(h.summary(6)).toEqual(['ADDED q@11', 'MODIFIED p@12']);
  });

  it('a trigger hash match is only a candidate: the predicate decides (hash collisions deliver nothing)', () => {
    const h = new Harness();
    h.register(1, { node: 'node-1' });
    // A record claiming node-1's hash whose object is on node-9, as a colliding value would.
    const q = { name: 'q', node: 'node-9' };
    h.append({ kind: RecordKind.ADDED, rv: 10, key: keyOf(q), object: podJson(q, 10), attributes: podAttributes(q), triggerHash: triggerHash('node-1') });
    h.revision = 10;
    h.put({ name: 'p', node: 'node-1' });
    h.flush();
    expect(h.summary(1)).toEqual(['ADDED p@11']);
  });

  it('pinned watchers of the same node all receive its records', () => {
    const h = new Harness();
    h.register(1, { node: 'node-1' });
    h.register(2, { node: 'node-1' });
    h.put({ name: 'p', node: 'node-1' });
    h.flush();
    expect(h.summary(1)).toEqual(['ADDED p@10']);
    expect(h.summary(2)).toEqual(['ADDED p@10']);
  });
});

// ---- predicate rewrite -------------------------------------------------------------------------

describe('dispatcher: ADDED/DELETED rewrite on match flips', () => {
  function webWatcher(): Harness {
    const h = new Harness();
    h.register(1, { predicate: predicate({ label: 'app=web' }) });
    return h;
  }

  it('ADDED of a matching object is ADDED; of a non-matching one, nothing', () => {
    const h = webWatcher();
    h.put({ name: 'a', labels: { app: 'web' } });
    h.put({ name: 'b', labels: { app: 'db' } });
    h.flush();
    expect(h.summary(1)).toEqual(['ADDED a@10']);
  });

  it('MODIFIED that starts matching is ADDED, carrying the new object', () => {
    const h = webWatcher();
    h.put({ name: 'a', labels: { app: 'db' } });
    h.put({ name: 'a', labels: { app: 'web' } });
    h.flush();
    expect(h.summary(1)).toEqual(['ADDED a@11']);
    expect(h.events(1)[0]!.object.metadata).toMatchObject({ labels: { app: 'web' }, resourceVersion: '11' });
  });

  it('MODIFIED that stops matching is DELETED, carrying the previous object stamped at the event RV', () => {
    const h = webWatcher();
    h.put({ name: 'a', labels: { app: 'web' } });
    h.put({ name: 'a', labels: { app: 'db' } });
    h.flush();
    expect(h.summary(1)).toEqual(['ADDED a@10', 'DELETED a@11']);
    expect(h.events(1)[1]!.object).toEqual({ metadata: { name: 'a', namespace: 'default', resourceVersion: '11', labels: { app: 'web' } } });
  });

  it('the DELETED of a MODIFIED that stops matching is spliced from the previous bytes for JSON (nothing parsed), decoded for msgpack, the same object both ways', () => {
    const h = webWatcher();
    h.register(2, { predicate: predicate({ label: 'app=web' }), encoding: 'msgpack' });
    h.put({ name: 'a', node: 'node-1', labels: { app: 'web' } });
    h.flush();
    h.put({ name: 'a', node: 'node-1', labels: { app: 'db' } });
    h.publish();
    const parse = vi.spyOn(JSON, 'parse');
    try {
      h.settle();
      // One parse of the previous object, for the msgpack watcher's frame; none for the JSON one.
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
    const expected = { metadata: { name: 'a', namespace: 'default', resourceVersion: '11', labels: { app: 'web' } }, spec: { nodeName: 'node-1' } };
    expect(h.events(1)[1]).toMatchObject({ type: 'DELETED', object: expected });
    expect(unpack(h.frames(2)[1]!)).toEqual({ type: 'DELETED', object: expected });
  });

  it('MODIFIED that keeps matching is MODIFIED; one that never matches is nothing', () => {
    const h = webWatcher();
    h.put({ name: 'a', labels: { app: 'web' } });
    h.put({ name: 'a', labels: { app: 'web', v: '2' } });
    h.put({ name: 'b', labels: { app: 'db' } });
    h.put({ name: 'b', labels: { app: 'db', v: '2' } });
    h.flush();
    expect(h.summary(1)).toEqual(['ADDED a@10', 'MODIFIED a@11']);
  });

  it('DELETED of an object that matched is DELETED (its last state at the deletion RV); of one that did not, nothing', () => {
    const h = webWatcher();
    h.put({ name: 'a', labels: { app: 'web' } });
    h.put({ name: 'b', labels: { app: 'db' } });
    h.del('a');
    h.del('b');
    h.flush();
    expect(h.summary(1)).toEqual(['ADDED a@10', 'DELETED a@12']);
    expect(h.events(1)[1]!.object.metadata).toEqual({ name: 'a', namespace: 'default', resourceVersion: '12', labels: { app: 'web' } });
  });

  it('a full history seen through a selector: in, out, back in, deleted', () => {
    const h = webWatcher();
    h.put({ name: 'a', labels: { app: 'web' } }); // 10 in
    h.put({ name: 'a', labels: { app: 'db' } }); // 11 out
    h.put({ name: 'a', labels: { app: 'db', v: '2' } }); // 12 still out
    h.put({ name: 'a', labels: { app: 'web' } }); // 13 back in
    h.put({ name: 'a', labels: { app: 'web', v: '3' } }); // 14 in
    h.del('a'); // 15
    h.flush();
    expect(h.summary(1)).toEqual(['ADDED a@10', 'DELETED a@11', 'ADDED a@13', 'MODIFIED a@14', 'DELETED a@15']);
  });

  it('a namespace scope sees only its namespace', () => {
    const h = new Harness();
    h.register(1, { predicate: predicate({ namespace: 'ns-a' }) });
    h.put({ name: 'p', namespace: 'ns-a' });
    h.put({ name: 'p', namespace: 'ns-b' });
    h.put({ name: 'q', namespace: 'ns-a' });
    h.del('p', 'ns-b');
    h.del('p', 'ns-a');
    h.flush();
    expect(h.events(1).map((e) => `${e.type} ${String((e.object.metadata as Record<string, unknown>).namespace)}/${e.name}@${e.rv}`)).toEqual([
      'ADDED ns-a/p@10',
      'ADDED ns-a/q@12',
      'DELETED ns-a/p@14',
    ]);
  });

  it('a name scope sees only the object of that name (in its namespace when both are set)', () => {
    const h = new Harness();
    h.register(1, { predicate: predicate({ name: 'p' }) });
    h.register(2, { predicate: predicate({ name: 'p', namespace: 'ns-b' }) });
    h.put({ name: 'p', namespace: 'ns-a' });
    h.put({ name: 'q', namespace: 'ns-a' });
    h.put({ name: 'p', namespace: 'ns-b' });
    h.put({ name: 'p', namespace: 'ns-b', labels: { v: '2' } });
    h.flush();
    expect(h.summary(1)).toEqual(['ADDED p@10', 'ADDED p@12', 'MODIFIED p@13']);
    expect(h.summary(2)).toEqual(['ADDED p@12', 'MODIFIED p@13']);
  });

  it('a field selector flip on a selectable field rewrites the same way', () => {
    const h = new Harness();
    // An untriggered watcher selecting by node (no trigger pinning), e.g. spec.nodeName!=node-1.
    h.register(1, { predicate: predicate({ field: 'spec.nodeName!=node-1' }) });
    h.put({ name: 'p', node: 'node-1' });
    h.put({ name: 'p', node: 'node-2' });
    h.put({ name: 'p', node: 'node-1' });
    h.flush();
    expect(h.summary(1)).toEqual(['ADDED p@11', 'DELETED p@12']);
  });

  it('an update that had to leave its previous object out of the ring is judged by the new object alone', () => {
    const h = webWatcher();
    h.put({ name: 'a', labels: { app: 'web' } });
    h.put({ name: 'a', labels: { app: 'web', v: '2' } }, { withoutPrev: true });
    h.put({ name: 'a', labels: { app: 'db' } }, { withoutPrev: true });
    h.flush();
    // Without the previous object the watcher cannot know it had the object: it matches → ADDED
    // (clients treat an ADDED for a known object as an update); it does not match → nothing.
    expect(h.summary(1)).toEqual(['ADDED a@10', 'ADDED a@11']);
  });
});

// ---- floor and start ---------------------------------------------------------------------------

describe('dispatcher: floor and start position', () => {
  it('records at or below the floor are never delivered', () => {
    const h = new Harness();
    const start = h.ring.writePosition;
    for (let i = 0; i < 5; i++) h.put({ name: `p${i}` });
    h.ring.publish();
    h.register(1, { start, floor: 12 });
    h.settle();
    expect(h.rvs(1)).toEqual([13, 14]);
  });

  it('a start ahead of the live cursor joins the live group at once and relies on the floor', () => {
    const h = new Harness();
    h.register(1, { floor: 9 });
    for (let i = 0; i < 5; i++) h.put({ name: `p${i}` }); // 10..14
    h.ring.publish(); // published but not yet read: the live cursor is still before rv 10
    h.register(2, { start: h.positions.get(13)!, floor: 12 });
    h.settle();
    expect(h.rvs(1)).toEqual([10, 11, 12, 13, 14]);
    expect(h.rvs(2)).toEqual([13, 14]);
    // It read with the live group: the frames are the very ones watcher 1 got.
    expect(h.frames(2)[0]).toBe(h.frames(1)[3]);
    h.put({ name: 'p5' });
    h.flush();
    expect(h.rvs(2)).toEqual([13, 14, 15]);
  });

  it('an older start catches up from the ring and then joins live, with no duplicate and no gap', () => {
    const h = new Harness();
    h.register(1);
    for (let i = 0; i < 5; i++) h.put({ name: `p${i}` }); // 10..14
    h.flush();
    h.register(2, { start: h.positions.get(11)!, floor: 10 });
    h.settle();
    expect(h.rvs(2)).toEqual([11, 12, 13, 14]);
    h.put({ name: 'p5' });
    h.flush();
    expect(h.rvs(2)).toEqual([11, 12, 13, 14, 15]);
    // Back in the live group: it shares watcher 1's frame.
    expect(h.frames(2).at(-1)).toBe(h.frames(1).at(-1));
  });

  it('catching up over several pumps while the live cursor moves on loses and repeats nothing', () => {
    const h = new Harness({ sliceRecords: 2 });
    h.register(1);
    for (let i = 0; i < 10; i++) h.put({ name: `p${i}` }); // 10..19
    h.flush();
    h.register(2, { start: h.positions.get(12)!, floor: 11 });
    let next = 20;
    for (let round = 0; round < 20; round++) {
      // One scheduled pump at a time, with new records published between them.
      const fn = h.scheduled.shift();
      if (fn === undefined) break;
      fn();
      if (round === 0) expect(h.rvs(2)).toEqual([12, 13]); // one slice per pump
      if (next < 30) {
        h.put({ name: `p${next - 10}` });
        next++;
        h.publish();
      }
    }
    while (next < 30) {
      h.put({ name: `p${next - 10}` });
      next++;
    }
    h.flush();
    expect(h.rvs(1)).toEqual(range(10, 29));
    expect(h.rvs(2)).toEqual(range(12, 29));
  });

  it('a start before the window start is closed as lapped when it tries to catch up', () => {
    const h = new Harness({ capacity: 1024 });
    for (let i = 0; i < 12; i++) h.put({ name: `p${i}` });
    h.flush();
    h.register(1, { start: h.positions.get(10)!, floor: 9 });
    h.settle();
    expect(h.closed.get(1)).toMatchObject({ code: ErrorCodes.EXPIRED, reason: 'lapped' });
    expect(h.frames(1)).toEqual([]);
  });
});

// ---- pacing ----------------------------------------------------------------------------------

describe('dispatcher: pacing', () => {
  it('a backlog larger than one turn is read over several scheduled pumps, in order', () => {
    const h = new Harness({ sliceRecords: 2 });
    h.register(1);
    for (let i = 0; i < 60; i++) h.put({ name: `p${i}` });
    h.publish();
    h.scheduled.shift()!();
    const firstTurn = h.frames(1).length;
    expect(firstTurn).toBeGreaterThan(0);
    expect(firstTurn).toBeLessThan(60);
    expect(h.scheduled).toHaveLength(1); // it yielded and asked to go on
    h.settle();
    expect(h.rvs(1)).toEqual(range(10, 69));
  });
});

// ---- shared frames -----------------------------------------------------------------------------

describe('dispatcher: frames are encoded once per event per type and shared', () => {
  it('two watchers receiving the same event get the identical frame object', () => {
    const h = new Harness();
    h.register(1);
    h.register(2, { predicate: predicate({ namespace: 'default' }) });
    h.register(3, { node: 'node-1' });
    h.put({ name: 'p', node: 'node-1' });
    h.flush();
    const [batch] = h.batches();
    expect(batch!.ids).toEqual([1, 2, 3]);
    expect(h.frames(2)[0]).toBe(h.frames(1)[0]);
    expect(h.frames(3)[0]).toBe(h.frames(1)[0]);
  });

  it('watchers that see an event as different types get one frame per type', () => {
    const h = new Harness();
    h.put({ name: 'p', labels: { app: 'db' } });
    h.flush();
    h.register(1); // sees MODIFIED
    h.register(2); // sees MODIFIED
    h.register(3, { predicate: predicate({ label: 'app=web' }) }); // sees ADDED
    h.register(4, { predicate: predicate({ label: 'app=web' }) }); // sees ADDED
    h.register(5, { predicate: predicate({ label: 'app=db' }) }); // sees DELETED
    h.register(6, { predicate: predicate({ label: 'app=db' }) }); // sees DELETED
    h.put({ name: 'p', labels: { app: 'web' } });
    h.flush();
    expect(h.summary(1)).toEqual(['MODIFIED p@11']);
    expect(h.summary(3)).toEqual(['ADDED p@11']);
    expect(h.summary(5)).toEqual(['DELETED p@11']);
    expect(h.frames(2)[0]).toBe(h.frames(1)[0]);
    expect(h.frames(4)[0]).toBe(h.frames(3)[0]);
    expect(h.frames(6)[0]).toBe(h.frames(5)[0]);
    expect(new Set([h.frames(1)[0], h.frames(3)[0], h.frames(5)[0]]).size).toBe(3);
  });

  it('protobuf watchers of one event share one frame, encoded once; JSON and msgpack watchers have their own', () => {
    const h = new Harness();
    h.register(1, { encoding: 'protobuf' });
    h.register(2, { encoding: 'protobuf', predicate: predicate({ namespace: 'default' }) });
    h.register(3, { encoding: 'protobuf', node: 'node-1' });
    h.register(4);
    h.register(5, { encoding: 'msgpack' });
    h.put({ name: 'p', node: 'node-1', typed: true });
    h.flush();
    const frame = h.frames(1)[0]!;
    expect(h.frames(2)[0]).toBe(frame);
    expect(h.frames(3)[0]).toBe(frame);
    expect(new Set([frame, h.frames(4)[0], h.frames(5)[0]]).size).toBe(3);
    // A length-delimited kube WatchEvent around the enveloped Pod, read by the independent decoder.
    const bytes = Buffer.from(frame);
    expect(bytes.readUInt32BE(0)).toBe(bytes.byteLength - 4);
    const event = WATCH_EVENT.toObject(WATCH_EVENT.decode(bytes.subarray(4))) as { type: string; object: { raw: Uint8Array } };
    expect(event.type).toBe('ADDED');
    expect(Buffer.from(event.object.raw.subarray(0, 4)).toString('latin1')).toBe('k8s\0');
    const unknown = UNKNOWN.toObject(UNKNOWN.decode(event.object.raw.subarray(4))) as { typeMeta: unknown; raw: Uint8Array };
    expect(unknown.typeMeta).toEqual({ apiVersion: 'v1', kind: 'Pod' });
    expect(POD.toObject(POD.decode(unknown.raw))).toEqual({ metadata: { name: 'p', namespace: 'default', resourceVersion: '10' }, spec: { nodeName: 'node-1' } });
  });

  it('the frame is the stored object spliced into the watch envelope, byte for byte', () => {
    const h = new Harness();
    h.register(1);
    h.put({ name: 'p', labels: { a: 'b' } });
    h.flush();
    const expected = jsonEventFrame('ADDED', podJson({ name: 'p', labels: { a: 'b' } }, 10));
    expect(Buffer.from(h.frames(1)[0]!).equals(Buffer.from(expected))).toBe(true);
    expect(Buffer.from(h.frames(1)[0]!).toString().endsWith('}\n')).toBe(true);
  });

  it('frames are copies: they stay intact after the ring overwrote their records', () => {
    const h = new Harness({ capacity: 2048 });
    h.register(1, { predicate: predicate({ label: 'app=web' }) });
    h.put({ name: 'a', labels: { app: 'web' } }); // 10: ADDED
    h.put({ name: 'a', labels: { app: 'db' } }); // 11: DELETED (rewritten from the previous object)
    h.flush();
    for (let i = 0; i < 20; i++) h.put({ name: `filler${i}` });
    h.flush();
    expect(h.ring.oldestPosition).toBeGreaterThan(h.positions.get(11)!);
    expect(h.summary(1)).toEqual(['ADDED a@10', 'DELETED a@11']);
    for (const frame of h.frames(1)) expect(frame.buffer).not.toBeInstanceOf(SharedArrayBuffer);
  });

  it('the frames of one pump go out as one batch, in record order', () => {
    const h = new Harness();
    h.register(1);
    h.register(2, { predicate: predicate({ label: 'app=web' }) });
    h.put({ name: 'a' });
    h.put({ name: 'b', labels: { app: 'web' } });
    h.put({ name: 'c' });
    h.flush();
    const batches = h.batches();
    expect(batches).toHaveLength(1);
    expect(Array.from(batches[0]!.ids)).toEqual([1, 1, 2, 1]);
    expect(batches[0]!.frames).toBe(4);
    expect(h.events(1).map((e) => e.name)).toEqual(['a', 'b', 'c']);
    expect(h.events(2).map((e) => e.name)).toEqual(['b']);
    // Frame b went to both as one frame object.
    expect(h.frames(2)[0]).toBe(h.frames(1)[1]);
  });
});

// ---- pre-framed chunks --------------------------------------------------------------------------

describe('dispatcher: one buffer per watcher per turn, shared by watchers with the same frames', () => {
  it('chunked watchers whose frames of the turn are the same share one chunk object; other sequences get their own', () => {
    const h = new Harness();
    h.register(1, { framing: 'chunked' });
    h.register(2, { framing: 'chunked' });
    h.register(3, { node: 'node-1', framing: 'chunked' });
    h.register(4, { node: 'node-1', framing: 'chunked' });
    h.register(5, { node: 'node-2', framing: 'chunked' });
    h.register(6); // frames
    h.put({ name: 'a', node: 'node-1' });
    h.put({ name: 'b', node: 'node-2' });
    h.put({ name: 'c', node: 'node-1' });
    h.flush();
    const [batch] = h.batches();
    expect(h.batches()).toHaveLength(1);
    // One entry per chunked watcher; three per-frame entries for watcher 6.
    expect(Array.from(batch!.ids).sort()).toEqual([1, 2, 3, 4, 5, 6, 6, 6]);
    expect(batch!.frames).toBe(3 + 3 + 2 + 2 + 1 + 3);
    const chunk = (id: number): Uint8Array => h.chunks.get(id)![0]!;
    expect(chunk(2)).toBe(chunk(1));
    expect(chunk(4)).toBe(chunk(3));
    expect(new Set([chunk(1), chunk(3), chunk(5)]).size).toBe(3);
    // Buffers: watcher 6's three frames, then three chunks, each once.
    expect(batch!.buffers).toHaveLength(6);
    expect(batch!.chunkStart).toBe(3);
    expect(new Set(batch!.buffers).size).toBe(6);
    expect(h.summary(1)).toEqual(['ADDED a@10', 'ADDED b@11', 'ADDED c@12']);
    expect(h.summary(3)).toEqual(['ADDED a@10', 'ADDED c@12']);
    expect(h.summary(5)).toEqual(['ADDED b@11']);
    // The chunks are made of the very frames the frames watcher got.
    expect(h.frames(1).map((f) => Buffer.from(f).toString())).toEqual(h.frames(6).map((f) => Buffer.from(f).toString()));
  });

  it('a chunk is hex(length) CRLF, the frames back to back, CRLF: byte for byte', () => {
    const h = new Harness();
    h.register(1, { framing: 'chunked' });
    h.register(2);
    h.put({ name: 'p', labels: { a: 'b' } });
    h.put({ name: 'q' });
    h.flush();
    const frames = h.frames(2).map((f) => Buffer.from(f));
    const payload = Buffer.concat(frames);
    const expected = Buffer.concat([Buffer.from(`${payload.byteLength.toString(16)}\r\n`), payload, Buffer.from('\r\n')]);
    expect(Buffer.from(h.chunks.get(1)![0]!).equals(expected)).toBe(true);
    expect(frames[0]!.equals(Buffer.from(jsonEventFrame('ADDED', podJson({ name: 'p', labels: { a: 'b' } }, 10))))).toBe(true);
  });

  it('watchers with different frames of one event (first frame vs later) never share a chunk', () => {
    const h = new Harness();
    h.put({ name: 'p', labels: { app: 'db' } });
    h.flush();
    h.register(1, { framing: 'chunked' }); // sees MODIFIED
    h.register(2, { framing: 'chunked', predicate: predicate({ label: 'app=web' }) }); // sees ADDED
    h.put({ name: 'p', labels: { app: 'web' } });
    h.flush();
    expect(h.summary(1)).toEqual(['MODIFIED p@11']);
    expect(h.summary(2)).toEqual(['ADDED p@11']);
    expect(h.chunks.get(1)![0]).not.toBe(h.chunks.get(2)![0]);
  });

  it('each turn gets a new chunk: a watcher gets one chunk per turn, in order', () => {
    const h = new Harness();
    h.register(1, { framing: 'chunked' });
    h.put({ name: 'a' });
    h.flush();
    h.put({ name: 'b' });
    h.put({ name: 'c' });
    h.flush();
    expect(h.chunks.get(1)).toHaveLength(2);
    expect(h.summary(1)).toEqual(['ADDED a@10', 'ADDED b@11', 'ADDED c@12']);
  });
});

// ---- acknowledgement by exception --------------------------------------------------------------

describe('dispatcher: acknowledgement by exception', () => {
  const TIGHT = { bufferEvents: 3, bufferBytes: 1 << 30, stallBudgetMs: 1_000 };

  function blocked(h: Harness, id: number, events: number): void {
    const bytes = h
      .frames(id)
      .slice(0, events)
      .reduce((n, f) => n + f.byteLength, 0);
    h.send({ type: 'blocked', ids: [id], events: [events], bytes: [bytes] });
  }

  /** Blocked before taking anything; then three frames out (its buffer), and it stalls. */
  function blockedWithThreeOut(): Harness {
    const h = new Harness({ limits: TIGHT });
    h.register(1, { acks: 'exception', now: 0 });
    h.put({ name: 'a' });
    h.flush();
    blocked(h, 1, 0);
    for (let i = 0; i < 5; i++) h.put({ name: `p${i}` });
    h.flush();
    expect(h.rvs(1)).toEqual([10, 11, 12]);
    return h;
  }

  it('a watcher acknowledging by exception takes every delivery while it is not blocked: it never stalls', () => {
    const h = new Harness({ limits: TIGHT });
    h.register(1, { acks: 'exception', framing: 'chunked' });
    for (let i = 0; i < 10; i++) {
      h.put({ name: `p${i}` });
      h.flush();
    }
    expect(h.rvs(1)).toEqual(range(10, 19));
    // A backlog longer than its buffer in one turn is read over the next turns, not stalled on.
    for (let i = 10; i < 20; i++) h.put({ name: `p${i}` });
    h.flush();
    expect(h.rvs(1)).toEqual(range(10, 29));
    h.tick(10_000);
    expect(h.closed.size).toBe(0);
  });

  it('blocked: what was delivered after the block point counts against its buffer, it stalls on its own cursor, and after the drain ack it catches up in order', () => {
    const h = new Harness({ limits: TIGHT });
    h.register(1, { acks: 'exception', framing: 'chunked' });
    h.register(2, { acks: 'exception' });
    h.put({ name: 'a' });
    h.put({ name: 'b' });
    h.flush();
    // The socket took the first frame only, then stopped taking bytes: one outstanding.
    blocked(h, 1, 1);
    for (let i = 0; i < 6; i++) {
      h.put({ name: `p${i}` });
      h.flush();
    }
    // Two more fit (three outstanding), then it stalls; watcher 2 is not affected.
    expect(h.rvs(1)).toEqual([10, 11, 12, 13]);
    expect(h.rvs(2)).toEqual(range(10, 17));
    h.tick(10);
    const status = h.outputs.flatMap((m) => (m.type === 'status' ? [m.status] : [])).at(-1)!;
    expect(status).toMatchObject({ behind: 1, stalled: 1 });
    // Drained: it catches up from the ring and takes deliveries again.
    h.ack(1);
    h.settle();
    expect(h.rvs(1)).toEqual(range(10, 17));
    for (let i = 6; i < 12; i++) {
      h.put({ name: `p${i}` });
      h.flush();
    }
    expect(h.rvs(1)).toEqual(range(10, 23));
    expect(h.closed.size).toBe(0);
  });

  it('a blocked watcher that never drains is closed by the stall budget with 410 "stalled"', () => {
    const h = blockedWithThreeOut();
    h.tick(999);
    expect(h.closed.has(1)).toBe(false);
    h.tick(1_001);
    expect(h.closed.get(1)).toMatchObject({ code: ErrorCodes.EXPIRED, reason: 'stalled' });
  });

  it('a blocked watcher that took more before blocking again (drain and block in one turn) restarts the stall budget', () => {
    const h = blockedWithThreeOut();
    h.tick(800);
    blocked(h, 1, 2); // it took two frames, then blocked again
    h.settle();
    expect(h.rvs(1)).toEqual([10, 11, 12, 13, 14]);
    h.tick(1_500);
    expect(h.closed.has(1)).toBe(false);
    h.tick(1_801);
    expect(h.closed.get(1)).toMatchObject({ code: ErrorCodes.EXPIRED, reason: 'stalled' });
  });

  it('blocked is ignored for a watcher with explicit acks', () => {
    const h = new Harness({ limits: TIGHT });
    h.register(1);
    h.put({ name: 'a' });
    h.flush();
    h.ack(1);
    blocked(h, 1, 0);
    for (let i = 0; i < 3; i++) h.put({ name: `p${i}` });
    h.flush();
    // Its ack of one frame stands: three more fit.
    expect(h.rvs(1)).toEqual([10, 11, 12, 13]);
  });
});

// ---- buffers -----------------------------------------------------------------------------------

describe('dispatcher: per-watcher buffers and stalling on the watcher’s own cursor', () => {
  /** Write one pod per step; watcher `reader` acks after every step. */
  function step(h: Harness, i: number, reader: number): number {
    const rv = h.put({ name: `p${i}` });
    h.flush();
    h.ack(reader);
    return rv;
  }

  it('a watcher that never acks gets exactly bufferEvents frames and stalls, while another keeps receiving everything', () => {
    const h = new Harness({ limits: { bufferEvents: 3, bufferBytes: 1 << 30, stallBudgetMs: 1_000 } });
    h.register(1); // never acks (until told)
    h.register(2); // acks after every step
    const written: number[] = [];
    for (let i = 0; i < 10; i++) {
      written.push(step(h, i, 2));
      expect(h.rvs(2)).toEqual(written);
    }
    expect(h.rvs(1)).toEqual([10, 11, 12]);
    expect(h.closed.size).toBe(0);
  });

  it('after an ack the stalled watcher resumes from its own cursor and receives every event once, in order', () => {
    const h = new Harness({ limits: { bufferEvents: 3, bufferBytes: 1 << 30, stallBudgetMs: 1_000 } });
    h.register(1);
    h.register(2);
    for (let i = 0; i < 10; i++) step(h, i, 2);
    expect(h.rvs(1)).toEqual([10, 11, 12]);

    // The consumer takes one frame: exactly one more comes (cumulative counts).
    h.ack(1, 1);
    h.settle();
    expect(h.rvs(1)).toEqual([10, 11, 12, 13]);
    h.ack(1, 1); // the same cumulative count again frees nothing
    h.settle();
    expect(h.rvs(1)).toHaveLength(4);

    // Writes go on while it catches up; each ack lets at most three frames be outstanding.
    for (let round = 0; h.rvs(1).length < h.rvs(2).length || round < 5; round++) {
      if (round > 50) throw new Error('never caught up');
      if (round < 5) step(h, 10 + round, 2);
      const before = h.frames(1).length;
      h.ack(1);
      h.settle();
      expect(h.frames(1).length - before).toBeLessThanOrEqual(3);
    }
    expect(h.rvs(2)).toEqual(range(10, 24));
    expect(h.rvs(1)).toEqual(range(10, 24));

    // And it is live again: the next event reaches both in the same batch, as one frame.
    h.ack(1);
    step(h, 99, 2);
    expect(h.frames(1).at(-1)).toBe(h.frames(2).at(-1));
  });

  it('the bytes limit stalls a watcher the same way', () => {
    const frameBytes = jsonEventFrame('ADDED', podJson({ name: 'p0' }, 10)).byteLength;
    const h = new Harness({ limits: { bufferEvents: 1_000, bufferBytes: 3 * frameBytes + frameBytes / 2, stallBudgetMs: 1_000 } });
    h.register(1);
    h.register(2);
    for (let i = 0; i < 8; i++) step(h, i, 2);
    expect(h.frames(1).every((f) => f.byteLength === frameBytes)).toBe(true);
    expect(h.rvs(1)).toEqual([10, 11, 12]);
    expect(h.rvs(2)).toEqual(range(10, 17));
    h.ack(1, 2); // frees two frames' worth of bytes
    h.settle();
    expect(h.rvs(1)).toEqual([10, 11, 12, 13, 14]);
    while (h.rvs(1).length < 8) {
      h.ack(1);
      h.settle();
    }
    expect(h.rvs(1)).toEqual(range(10, 17));
  });

  it('a single frame larger than bufferBytes still goes through when nothing is outstanding', () => {
    const h = new Harness({ limits: { bufferEvents: 1_000, bufferBytes: 10, stallBudgetMs: 1_000 } });
    h.register(1);
    h.put({ name: 'a' });
    h.put({ name: 'b' });
    h.put({ name: 'c' });
    h.flush();
    expect(h.rvs(1)).toEqual([10]);
    h.ack(1);
    h.settle();
    expect(h.rvs(1)).toEqual([10, 11]);
    h.ack(1);
    h.settle();
    h.ack(1);
    h.settle();
    expect(h.rvs(1)).toEqual([10, 11, 12]);
  });

  it('a stalled watcher that takes nothing gets nothing more, however much is written', () => {
    const h = new Harness({ limits: { bufferEvents: 2, bufferBytes: 1 << 30, stallBudgetMs: 1_000 } });
    h.register(1);
    for (let i = 0; i < 20; i++) h.put({ name: `p${i}` });
    h.flush();
    expect(h.rvs(1)).toEqual([10, 11]);
    h.put({ name: 'late' });
    h.flush();
    expect(h.rvs(1)).toEqual([10, 11]);
    expect(h.scheduled).toEqual([]); // and it does not keep the dispatcher spinning
  });

  it('a pinned watcher stalls and catches up on its own records only', () => {
    const h = new Harness({ limits: { bufferEvents: 2, bufferBytes: 1 << 30, stallBudgetMs: 1_000 } });
    h.register(1, { node: 'node-1' });
    for (let i = 0; i < 6; i++) {
      h.put({ name: `a${i}`, node: 'node-1' });
      h.put({ name: `b${i}`, node: 'node-2' });
    }
    h.flush();
    expect(h.events(1).map((e) => e.name)).toEqual(['a0', 'a1']);
    while (h.frames(1).length < 6) {
      h.ack(1);
      h.settle();
    }
    expect(h.events(1).map((e) => e.name)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5']);
    h.ack(1);
    h.put({ name: 'a6', node: 'node-1' });
    h.put({ name: 'b6', node: 'node-2' });
    h.flush();
    expect(h.events(1).map((e) => e.name)).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6']);
  });
});

// ---- stall budget ------------------------------------------------------------------------------

describe('dispatcher: the stall budget', () => {
  function stalled(): Harness {
    const h = new Harness({ limits: { bufferEvents: 2, bufferBytes: 1 << 30, stallBudgetMs: 1_000 } });
    h.register(1, { now: 0 });
    h.register(2, { now: 0 });
    for (let i = 0; i < 4; i++) h.put({ name: `p${i}` });
    h.flush();
    h.ack(2);
    h.settle();
    expect(h.rvs(1)).toEqual([10, 11]);
    expect(h.rvs(2)).toEqual([10, 11, 12, 13]);
    h.ack(2);
    return h;
  }

  it('a watcher stalled for longer than stallBudgetMs is closed with 410 reason "stalled"', () => {
    const h = stalled();
    h.tick(999);
    expect(h.closed.has(1)).toBe(false);
    h.tick(1_001);
    expect(h.closed.get(1)).toMatchObject({ code: ErrorCodes.EXPIRED, reason: 'stalled' });
    expect(h.closed.get(1)!.message).toContain('too old resource version');
    expect(h.closed.has(2)).toBe(false);
    expect(h.dispatcher.watcherCount).toBe(1);
    // The other watcher is not affected.
    h.put({ name: 'next' });
    h.flush();
    expect(h.rvs(2)).toEqual([10, 11, 12, 13, 14]);
  });

  it('an ack that consumed something restarts the budget', () => {
    const h = stalled();
    h.tick(800);
    h.ack(1, 1); // takes one frame: slow, not unresponsive
    h.settle();
    expect(h.rvs(1)).toEqual([10, 11, 12]); // one more, then stalled again
    h.tick(1_500);
    expect(h.closed.has(1)).toBe(false);
    h.tick(1_801);
    expect(h.closed.get(1)).toMatchObject({ code: ErrorCodes.EXPIRED, reason: 'stalled' });
  });

  it('an ack that consumed nothing does not restart the budget', () => {
    const h = stalled();
    h.tick(800);
    h.ack(1, 0);
    h.settle();
    h.tick(1_001);
    expect(h.closed.get(1)).toMatchObject({ code: ErrorCodes.EXPIRED, reason: 'stalled' });
  });

  it('a watcher that caught up and rejoined the live group is no longer on the clock', () => {
    const h = stalled();
    h.ack(1);
    h.settle();
    expect(h.rvs(1)).toEqual([10, 11, 12, 13]);
    h.tick(5_000);
    expect(h.closed.size).toBe(0);
  });

  it('a watcher merely catching up from an old start is not on the stall clock', () => {
    const h = new Harness({ limits: { bufferEvents: 1_000, bufferBytes: 1 << 30, stallBudgetMs: 1_000 }, sliceRecords: 1 });
    for (let i = 0; i < 5; i++) h.put({ name: `p${i}` });
    h.flush();
    h.register(1, { start: h.positions.get(10)!, floor: 9, now: 0 });
    h.scheduled.shift()!(); // one slice of catch-up
    expect(h.rvs(1)).toEqual([10]);
    h.tick(10_000);
    expect(h.closed.size).toBe(0);
    h.settle();
    expect(h.rvs(1)).toEqual(range(10, 14));
  });
});

// ---- lapped ------------------------------------------------------------------------------------

describe('dispatcher: falling out of the window', () => {
  /** A 1 KiB ring (about seven of these records); watcher 1 stalls, watcher 2 keeps up. */
  function tiny(): { h: Harness; written: number[] } {
    const h = new Harness({ capacity: 1024, limits: { bufferEvents: 2, bufferBytes: 1 << 30, stallBudgetMs: 1_000_000 } });
    h.register(1);
    h.register(2);
    const written: number[] = [];
    for (let i = 0; i < 20; i++) {
      written.push(h.put({ name: `p${i}` }));
      h.flush();
      h.ack(2);
    }
    expect(h.rvs(2)).toEqual(written);
    expect(h.rvs(1)).toEqual([10, 11]);
    // Watcher 1's cursor (the record at rv 12) has been overwritten.
    expect(h.ring.oldestPosition).toBeGreaterThan(h.positions.get(12)!);
    return { h, written };
  }

  it('the records are about 150 bytes (header, key, object, attributes), so the 1 KiB ring holds a handful', () => {
    const h = new Harness({ capacity: 1024 });
    h.put({ name: 'p0' });
    h.put({ name: 'p1' });
    const size = h.positions.get(11)! - h.positions.get(10)!;
    expect(size).toBeGreaterThanOrEqual(120);
    expect(size).toBeLessThanOrEqual(200);
  });

  it('a stalled watcher whose cursor was overwritten is closed with 410 reason "lapped" on the next tick; the live one goes on', () => {
    const { h, written } = tiny();
    expect(h.closed.size).toBe(0); // nothing notices until a tick or a catch-up
    h.tick(1);
    expect(h.closed.get(1)).toMatchObject({ code: ErrorCodes.EXPIRED, reason: 'lapped' });
    expect(h.closed.get(1)!.message).toContain('too old resource version');
    expect(h.closed.has(2)).toBe(false);
    written.push(h.put({ name: 'after' }));
    h.flush();
    expect(h.rvs(2)).toEqual(written);
  });

  it('a stalled watcher whose cursor was overwritten is closed as lapped when it tries to catch up', () => {
    const { h } = tiny();
    h.ack(1);
    h.settle();
    expect(h.closed.get(1)).toMatchObject({ code: ErrorCodes.EXPIRED, reason: 'lapped' });
    expect(h.rvs(1)).toEqual([10, 11]); // nothing from the torn part of the window
    expect(h.dispatcher.watcherCount).toBe(1);
  });

  it('a stalled watcher still inside the window is not lapped', () => {
    const h = new Harness({ capacity: 1024, limits: { bufferEvents: 2, bufferBytes: 1 << 30, stallBudgetMs: 1_000_000 } });
    h.register(1);
    for (let i = 0; i < 4; i++) h.put({ name: `p${i}` });
    h.flush();
    h.tick(1);
    expect(h.closed.size).toBe(0);
    h.ack(1);
    h.settle();
    expect(h.rvs(1)).toEqual([10, 11, 12, 13]);
  });

  it('when the live cursor itself is overwritten before it reads, every live watcher is closed as lapped and new watchers work', () => {
    const h = new Harness({ capacity: 1024 });
    h.register(1);
    h.register(2, { node: 'node-1' });
    for (let i = 0; i < 20; i++) h.put({ name: `p${i}`, node: 'node-1' });
    h.flush();
    expect(h.closed.get(1)).toMatchObject({ code: ErrorCodes.EXPIRED, reason: 'lapped' });
    expect(h.closed.get(2)).toMatchObject({ code: ErrorCodes.EXPIRED, reason: 'lapped' });
    expect(h.dispatcher.watcherCount).toBe(0);
    // The ring is full: every write from now on evicts the oldest record. The dispatcher must
    // not keep lapping itself: a watcher registered now sees every write.
    h.register(3);
    h.register(4, { start: h.positions.get(28)!, floor: 27 }); // an older start still in the window
    for (let i = 0; i < 10; i++) {
      h.put({ name: `fresh${i}` });
      h.flush();
    }
    expect(h.closed.has(3)).toBe(false);
    expect(h.closed.has(4)).toBe(false);
    expect(h.rvs(3)).toEqual(range(30, 39));
    expect(h.rvs(4)).toEqual(range(28, 39));
  });
});

// ---- ring reset --------------------------------------------------------------------------------

describe('dispatcher: ring reset (the cache relisted)', () => {
  it('every watcher, live or behind, is closed cleanly, and the new epoch works', () => {
    const h = new Harness({ limits: { bufferEvents: 1, bufferBytes: 1 << 30, stallBudgetMs: 1_000 } });
    h.register(1);
    h.register(2);
    h.put({ name: 'a' });
    h.put({ name: 'b' });
    h.flush(); // both stall after one frame: behind
    h.ack(2);
    h.settle(); // watcher 2 catches up and is live again
    h.register(3, { node: 'node-1' });
    expect(h.closed.size).toBe(0);

    h.ring.reset();
    h.publish();
    h.settle();
    expect([...h.closed.entries()]).toEqual([
      [1, undefined],
      [2, undefined],
      [3, undefined],
    ]);
    expect(h.dispatcher.watcherCount).toBe(0);

    h.register(4);
    h.put({ name: 'c' });
    h.flush();
    expect(h.summary(4)).toEqual([`ADDED c@${h.revision}`]);
  });

  it('a watcher registered with the old epoch is closed at once', () => {
    const h = new Harness();
    const oldEpoch = h.ring.epoch;
    h.ring.reset();
    h.register(1, { epoch: oldEpoch });
    expect(h.outputs).toEqual([{ type: 'closed', id: 1 }]);
    expect(h.scheduled).toEqual([]);
    expect(h.dispatcher.watcherCount).toBe(0);
  });

  it('a reset first noticed on a tick still closes behind watchers cleanly, not as lapped', () => {
    const h = new Harness({ limits: { bufferEvents: 1, bufferBytes: 1 << 30, stallBudgetMs: 1_000_000 } });
    h.register(1);
    h.register(2);
    h.put({ name: 'a' });
    h.put({ name: 'b' });
    h.flush(); // both behind, stalled
    h.ring.reset();
    h.tick(1);
    h.settle();
    expect([...h.closed.entries()]).toEqual([
      [1, undefined],
      [2, undefined],
    ]);
  });
});

// ---- bookmarks ---------------------------------------------------------------------------------

describe('dispatcher: bookmarks', () => {
  function bookmarks(h: Harness, id: number): number[] {
    return h.events(id).flatMap((e) => (e.type === 'BOOKMARK' ? [e.rv] : []));
  }

  it('a watcher with bookmarks gets a BOOKMARK on the first tick at or after registration + 60 s, then every minute', () => {
    const h = new Harness();
    h.register(1, { bookmarks: true, now: 0 });
    h.put({ name: 'a' });
    h.flush();
    h.tick(1_000);
    h.tick(59_000);
    expect(bookmarks(h, 1)).toEqual([]);
    h.tick(60_000);
    expect(bookmarks(h, 1)).toEqual([10]);
    h.tick(61_000);
    h.tick(119_000);
    expect(bookmarks(h, 1)).toEqual([10]);
    h.tick(120_000);
    expect(bookmarks(h, 1)).toEqual([10, 10]);
  });

  it('a late tick delivers the bookmark that was due, once', () => {
    const h = new Harness();
    h.register(1, { bookmarks: true, now: 0 });
    h.tick(200_000);
    expect(h.events(1).map((e) => e.type)).toEqual(['BOOKMARK']);
    h.tick(201_000);
    expect(h.frames(1)).toHaveLength(1);
    h.tick(260_000);
    expect(h.frames(1)).toHaveLength(2);
  });

  it('the BOOKMARK is an empty object of the resource kind carrying only the resourceVersion', () => {
    const h = new Harness();
    h.register(1, { bookmarks: true, now: 0 });
    h.put({ name: 'a' });
    h.flush();
    h.tick(60_000);
    const frame = h.frames(1).at(-1)!;
    expect(Buffer.from(frame).toString()).toBe('{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"10"}}}\n');
  });

  it('a deadline sooner than a minute away brings the bookmark to 2 s before it', () => {
    const h = new Harness();
    h.register(1, { bookmarks: true, now: 0, deadline: 30_000 });
    h.tick(27_000);
    expect(bookmarks(h, 1)).toEqual([]);
    h.tick(28_000);
    expect(bookmarks(h, 1)).toEqual([9]);
  });

  it('no bookmark once the deadline is too close', () => {
    const h = new Harness();
    h.register(1, { bookmarks: true, now: 10_000, deadline: 11_000 });
    for (let t = 10_000; t <= 200_000; t += 1_000) h.tick(t);
    expect(h.frames(1)).toEqual([]);
  });

  it('watchers without bookmarks never get one', () => {
    const h = new Harness();
    h.register(1, { now: 0 });
    h.put({ name: 'a' });
    h.flush();
    for (let t = 0; t <= 300_000; t += 10_000) h.tick(t);
    expect(h.summary(1)).toEqual(['ADDED a@10']);
  });

  it('the bookmark carries the RV of the last record the live cursor passed, progress records included', () => {
    const h = new Harness();
    h.register(1, { bookmarks: true, now: 0, predicate: predicate({ label: 'app=web' }) });
    h.put({ name: 'a', labels: { app: 'web' } }); // 10, delivered
    h.put({ name: 'b' }); // 11, filtered out
    h.progress(15); // the store moved on with no event for this resource
    h.flush();
    expect(h.summary(1)).toEqual(['ADDED a@10']);
    h.tick(60_000);
    expect(bookmarks(h, 1)).toEqual([15]);
  });

  it('the bookmark never goes below the watcher’s own floor or last event', () => {
    const h = new Harness();
    h.put({ name: 'a' }); // 10
    h.flush();
    // A watch from RV 50: the live cursor has only passed 10.
    h.register(1, { bookmarks: true, now: 0, floor: 50 });
    h.register(2, { bookmarks: true, now: 0 });
    h.tick(60_000);
    expect(bookmarks(h, 1)).toEqual([50]);
    expect(bookmarks(h, 2)).toEqual([10]);
  });

  it('the bookmark never goes below an event the watcher caught up on', () => {
    const h = new Harness();
    for (let i = 0; i < 3; i++) h.put({ name: `p${i}` }); // 10..12
    h.flush();
    h.register(1, { bookmarks: true, now: 0, start: h.positions.get(10)!, floor: 9 });
    h.settle();
    h.tick(60_000);
    expect(h.summary(1)).toEqual(['ADDED p0@10', 'ADDED p1@11', 'ADDED p2@12', 'BOOKMARK @12']);
  });

  it('watchers due at the same tick with the same RV share one bookmark frame', () => {
    const h = new Harness();
    h.register(1, { bookmarks: true, now: 0 });
    h.register(2, { bookmarks: true, now: 0 });
    h.tick(60_000);
    expect(h.frames(1)[0]).toBe(h.frames(2)[0]);
  });

  it('a bookmark that does not fit the buffer is skipped, and the next one is still scheduled', () => {
    const h = new Harness({ limits: { bufferEvents: 2, bufferBytes: 1 << 30, stallBudgetMs: 1_000_000 } });
    h.register(1, { bookmarks: true, now: 0 });
    h.put({ name: 'a' });
    h.put({ name: 'b' });
    h.flush();
    expect(h.rvs(1)).toEqual([10, 11]); // the buffer is full (but nothing stalled)
    h.tick(60_000);
    expect(bookmarks(h, 1)).toEqual([]);
    h.ack(1);
    h.tick(61_000);
    expect(bookmarks(h, 1)).toEqual([]);
    h.tick(120_000);
    expect(bookmarks(h, 1)).toEqual([11]);
  });

  it('a bookmark counts against the buffer like any frame', () => {
    const h = new Harness({ limits: { bufferEvents: 2, bufferBytes: 1 << 30, stallBudgetMs: 1_000_000 } });
    h.register(1, { bookmarks: true, now: 0 });
    h.put({ name: 'a' });
    h.flush();
    h.tick(60_000);
    expect(h.summary(1)).toEqual(['ADDED a@10', 'BOOKMARK @10']);
    h.put({ name: 'b' });
    h.flush();
    expect(h.rvs(1)).toEqual([10, 10]); // stalled: two frames outstanding
    h.ack(1);
    h.settle();
    expect(h.summary(1)).toEqual(['ADDED a@10', 'BOOKMARK @10', 'ADDED b@11']);
  });

  it('a stalled watcher gets no bookmark (it has not seen what the live cursor passed) until it is live again', () => {
    const h = new Harness({ limits: { bufferEvents: 1, bufferBytes: 1 << 30, stallBudgetMs: 1_000_000 } });
    h.register(1, { bookmarks: true, now: 0 });
    h.register(2, { now: 0 });
    h.put({ name: 'a' });
    h.put({ name: 'b' });
    h.flush();
    h.ack(2);
    h.settle();
    expect(h.rvs(1)).toEqual([10]);
    h.ack(1, 0); // consumes nothing
    h.tick(60_000);
    expect(bookmarks(h, 1)).toEqual([]);
    h.ack(1);
    h.settle();
    h.ack(1);
    h.tick(120_000);
    expect(h.summary(1)).toEqual(['ADDED a@10', 'ADDED b@11', 'BOOKMARK @11']);
  });

  it('a cancelled watcher gets no more bookmarks', () => {
    const h = new Harness();
    h.register(1, { bookmarks: true, now: 0 });
    h.send({ type: 'cancel', id: 1 });
    h.tick(60_000);
    h.tick(120_000);
    // Each tick reports the dispatcher's status; nothing else comes out.
    expect(h.outputs.filter((o) => o.type !== 'status')).toEqual([]);
    expect(h.outputs.at(-1)).toEqual({ type: 'status', status: { watchers: 0, behind: 0, stalled: 0, liveRV: 0 } });
  });
});

// ---- progress ----------------------------------------------------------------------------------

describe('dispatcher: PROGRESS records', () => {
  it('produce no frames, for any watcher', () => {
    const h = new Harness();
    h.register(1);
    h.register(2, { node: 'node-1' });
    h.progress(20);
    h.progress(25);
    h.flush();
    expect(h.outputs).toEqual([]);
  });

  it('advance the RV that bookmarks carry', () => {
    const h = new Harness();
    h.register(1, { bookmarks: true, now: 0 });
    h.put({ name: 'a' }); // 10
    h.flush();
    h.tick(60_000);
    h.progress(40);
    h.flush();
    h.tick(120_000);
    expect(h.summary(1)).toEqual(['ADDED a@10', 'BOOKMARK @10', 'BOOKMARK @40']);
  });

  it('are skipped by a watcher catching up', () => {
    const h = new Harness();
    h.put({ name: 'a' }); // 10
    h.progress(20);
    h.put({ name: 'b' }); // 21
    h.flush();
    h.register(1, { start: h.positions.get(10)!, floor: 9 });
    h.settle();
    expect(h.summary(1)).toEqual(['ADDED a@10', 'ADDED b@21']);
  });
});

// ---- cancel and stop ---------------------------------------------------------------------------

describe('dispatcher: cancel and stop', () => {
  it('cancel removes a live watcher: no more frames, no closed message', () => {
    const h = new Harness();
    h.register(1);
    h.register(2);
    h.put({ name: 'a' });
    h.flush();
    h.send({ type: 'cancel', id: 1 });
    expect(h.dispatcher.watcherCount).toBe(1);
    h.put({ name: 'b' });
    h.flush();
    expect(h.rvs(1)).toEqual([10]);
    expect(h.rvs(2)).toEqual([10, 11]);
    expect(h.closed.size).toBe(0);
  });

  it('cancel removes a watcher that is behind: it catches up no more', () => {
    const h = new Harness({ limits: { bufferEvents: 1, bufferBytes: 1 << 30, stallBudgetMs: 1_000 } });
    h.register(1);
    h.put({ name: 'a' });
    h.put({ name: 'b' });
    h.flush();
    expect(h.rvs(1)).toEqual([10]);
    h.send({ type: 'cancel', id: 1 });
    h.ack(1);
    h.settle();
    h.tick(10_000);
    expect(h.rvs(1)).toEqual([10]);
    expect(h.closed.size).toBe(0);
    expect(h.dispatcher.watcherCount).toBe(0);
  });

  it('cancel and ack of an unknown watcher are ignored', () => {
    const h = new Harness();
    h.send({ type: 'cancel', id: 42 });
    h.send({ type: 'acks', ids: [42], events: [1], bytes: [1] });
    h.settle();
    expect(h.outputs).toEqual([]);
  });

  it('stop closes every watcher cleanly, then posts stopped, and ignores everything after', () => {
    const h = new Harness({ limits: { bufferEvents: 1, bufferBytes: 1 << 30, stallBudgetMs: 1_000 } });
    h.register(1);
    h.register(2, { node: 'node-1' });
    h.register(3, { bookmarks: true });
    h.put({ name: 'a' });
    h.put({ name: 'b' });
    h.flush(); // 1 and 3 stall behind; 2 stays live
    const before = h.outputs.length;
    h.send({ type: 'stop' });
    expect(h.outputs.slice(before)).toEqual([
      { type: 'closed', id: 1 },
      { type: 'closed', id: 2 },
      { type: 'closed', id: 3 },
      { type: 'stopped' },
    ]);
    expect(h.dispatcher.watcherCount).toBe(0);

    const after = h.outputs.length;
    h.register(4);
    h.put({ name: 'c', node: 'node-1' });
    h.publish();
    h.tick(120_000);
    h.dispatcher.pump();
    h.settle();
    h.send({ type: 'stop' });
    expect(h.outputs.length).toBe(after);
  });
});
