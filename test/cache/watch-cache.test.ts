/**
 * The ring records the watch cache writes: each carries the attribute sections of its objects,
 * so that dispatchers filter without parsing; a DELETED carries the last state at the deletion
 * RV; an update too large to carry its previous object goes without it and its section.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { ObjectCodec } from '../../src/cache/object.js';
import { ProgressRequester } from '../../src/cache/progress-requester.js';
import { WatchCache, type WatchCacheOptions } from '../../src/cache/watch-cache.js';
import { AttributeCodec } from '../../src/ring/attributes.js';
import { RecordKind } from '../../src/ring/layout.js';
import type { RingSegment } from '../../src/ring/producer.js';
import { RingReader } from '../../src/ring/reader.js';
import type { Attributes } from '../../src/select/predicate.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { POD_SCHEMA, pod, type PodSpec } from '../helpers/pods.js';

interface Seen {
  kind: number;
  rv: number;
  object: Record<string, unknown> | undefined;
  attributes: Attributes | undefined;
  prevObject: Record<string, unknown> | undefined;
  prevAttributes: Attributes | undefined;
}

function setup(options: Partial<WatchCacheOptions> = {}) {
  const clock = new ManualClock();
  const codec = new ObjectCodec(POD_SCHEMA);
  let segments: readonly RingSegment[] = [];
  const cache = new WatchCache({ codec, clock, progress: new ProgressRequester(new MemoryStorage(), clock), onSegments: (s) => (segments = s), ...options });
  cache.replace([], 1);
  const sections = new AttributeCodec(codec.attributes.fields);
  const start = cache.startPosition(1);
  let rv = 1;
  const put = (spec: PodSpec): void => {
    rv++;
    const value = Buffer.from(JSON.stringify(pod(spec)));
    cache.apply([{ type: 'put', kv: { key: `/registry/pods/default/${spec.name}`, value, createRevision: rv, modRevision: rv, version: 1 } }]);
  };
  const del = (name: string): void => {
    rv++;
    cache.apply([{ type: 'delete', kv: { key: `/registry/pods/default/${name}`, value: new Uint8Array(0), createRevision: 0, modRevision: rv, version: 0 } }]);
  };
  const records = (): Seen[] => {
    const reader = new RingReader(cache.ring.buffers);
    if (segments.length > 0) reader.attach(segments);
    const json = (bytes: Uint8Array): Record<string, unknown> | undefined => (bytes.length === 0 ? undefined : (JSON.parse(Buffer.from(bytes).toString()) as Record<string, unknown>));
    const seen: Seen[] = [];
    const end = reader.scan(start, 1000, (r) =>
      seen.push({
        kind: r.kind,
        rv: r.rv,
        object: json(r.object()),
        attributes: r.attributesLength === 0 ? undefined : sections.decode(r.attributes()),
        prevObject: json(r.prevObject()),
        prevAttributes: r.prevAttributesLength === 0 ? undefined : sections.decode(r.prevAttributes()),
      }),
    );
    expect(end).toBe(cache.ring.writePosition);
    return seen;
  };
  return { cache, codec, put, del, records, progress: (to: number) => cache.progress((rv = to)) };
}

describe('the ring records of the watch cache', () => {
  it('ADDED, MODIFIED and DELETED carry the attribute sections of their objects; PROGRESS carries none', () => {
    const { put, del, records, progress } = setup();
    put({ name: 'a', nodeName: 'n1', labels: { app: 'web' } });
    put({ name: 'a', nodeName: 'n2', labels: { app: 'db' } });
    del('a');
    progress(10);
    const [added, modified, deleted, tick] = records();

    expect(added).toMatchObject({ kind: RecordKind.ADDED, rv: 2, prevObject: undefined, prevAttributes: undefined });
    expect(added!.attributes).toMatchObject({ name: 'a', namespace: 'default', labels: { app: 'web' }, fields: { 'spec.nodeName': 'n1' } });

    expect(modified).toMatchObject({ kind: RecordKind.MODIFIED, rv: 3 });
    expect(modified!.attributes).toMatchObject({ labels: { app: 'db' }, fields: { 'spec.nodeName': 'n2' } });
    expect(modified!.prevAttributes).toEqual(added!.attributes);
    expect(modified!.prevObject).toEqual(added!.object);

    // The last state, stamped at the deletion RV, judged by its own attributes.
    expect(deleted).toMatchObject({ kind: RecordKind.DELETED, rv: 4, prevAttributes: undefined });
    expect(deleted!.object).toEqual({ ...modified!.object, metadata: { ...(modified!.object!.metadata as object), resourceVersion: '4' } });
    expect(deleted!.attributes).toEqual(modified!.attributes);

    expect(tick).toEqual({ kind: RecordKind.PROGRESS, rv: 10, object: undefined, attributes: undefined, prevObject: undefined, prevAttributes: undefined });
  });

  it('an update too large to carry its previous object goes without it and without its section', () => {
    // A 4 KiB ring takes records of up to 1 KiB: one 700-byte pod fits, two do not.
    const { put, records } = setup({ windowBytes: 4096 });
    put({ name: 'big', padding: 600, labels: { v: '1' } });
    put({ name: 'big', padding: 600, labels: { v: '2' } });
    const [, modified] = records();
    expect(modified).toMatchObject({ kind: RecordKind.MODIFIED, rv: 3, prevObject: undefined, prevAttributes: undefined });
    expect(modified!.attributes).toMatchObject({ name: 'big', labels: { v: '2' } });
  });
});
