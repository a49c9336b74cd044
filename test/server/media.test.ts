import { describe, expect, it } from 'vitest';
import {
  JSON_WATCH_ENCODING,
  MSGPACK_WATCH_ENCODING,
  negotiate,
  negotiateView,
  negotiateWatch,
  PROTOBUF_WATCH_ENCODING,
  RESPONSE_TYPES,
} from '../../src/server/media.js';
import { BUILTIN_RESOURCES, defineResource } from '../../src/server/registry.js';

describe('media type negotiation', () => {
  it('no Accept, */* and application/* get JSON', () => {
    for (const accept of [undefined, '', '*/*', 'application/*', 'application/json, */*;q=0.8']) {
      expect(negotiate(accept, RESPONSE_TYPES).mediaType).toBe('application/json');
    }
  });

  it("kubectl's Table and client-go's protobuf preferences fall back to plain JSON", () => {
    expect(negotiate('application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json', RESPONSE_TYPES).mediaType).toBe('application/json');
    expect(negotiate('application/vnd.kubernetes.protobuf,application/json', RESPONSE_TYPES).mediaType).toBe('application/json');
  });

  it('the stream=watch parameter is for watches only', () => {
    expect(() => negotiate('application/json;stream=watch', RESPONSE_TYPES)).toThrow(/media types/);
  });

  it('nothing acceptable: 406', () => {
    expect(() => negotiate('application/yaml', RESPONSE_TYPES)).toThrow(expect.objectContaining({ code: 'WC_ERR_NOT_ACCEPTABLE' }));
    expect(() => negotiate('application/json;q=0', RESPONSE_TYPES)).toThrow(expect.objectContaining({ code: 'WC_ERR_NOT_ACCEPTABLE' }));
  });
});

describe('negotiateView (GET and LIST conversions)', () => {
  const table = 'application/json;as=Table;v=v1;g=meta.k8s.io';
  it('kubectl’s Accept picks the v1 Table; a v1beta1-only Accept the v1beta1 one', () => {
    expect(negotiateView(`${table},application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json`, 'list')).toEqual({ kind: 'table', version: 'v1' });
    expect(negotiateView('application/json;as=Table;v=v1beta1;g=meta.k8s.io', 'object')).toEqual({ kind: 'table', version: 'v1beta1' });
  });
  it('q values outrank order', () => {
    expect(negotiateView(`application/json;q=0.5,${table}`, 'list')).toEqual({ kind: 'table', version: 'v1' });
    expect(negotiateView(`${table};q=0.1,application/json`, 'list')).toEqual({ kind: 'objects' });
  });
  it('metadata views: ...List for a list, the single kind for an object', () => {
    expect(negotiateView('application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1', 'list')).toEqual({ kind: 'metadata', version: 'v1' });
    expect(negotiateView('application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1beta1', 'object')).toEqual({ kind: 'metadata', version: 'v1beta1' });
    expect(() => negotiateView('application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1', 'list')).toThrow(/only the following media types are accepted/);
  });
  it('protobuf, another group or version, or a stream parameter is not acceptable; plain JSON and no Accept give objects', () => {
    expect(() => negotiateView('application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io', 'list')).toThrow(/only the following media types are accepted/);
    expect(() => negotiateView('application/json;as=Table;v=v2;g=meta.k8s.io', 'list')).toThrow(/only/);
    expect(() => negotiateView('application/json;as=Table;v=v1;g=example.com', 'list')).toThrow(/only/);
    expect(negotiateView(undefined, 'object')).toEqual({ kind: 'objects' });
    expect(negotiateView('*/*', 'list')).toEqual({ kind: 'objects' });
  });
  it('plain protobuf objects only for a kind with a protobuf form; JSON wins */* and ties, as in kube', () => {
    const protobuf = 'application/vnd.kubernetes.protobuf';
    expect(negotiateView(`${protobuf},application/json`, 'list', true)).toEqual({ kind: 'protobuf' });
    expect(negotiateView(protobuf, 'object', true)).toEqual({ kind: 'protobuf' });
    expect(negotiateView(`${protobuf},application/json`, 'list', false)).toEqual({ kind: 'objects' });
    expect(() => negotiateView(protobuf, 'list', false)).toThrow(/only the following media types are accepted: application\/json,/);
    expect(() => negotiateView('application/yaml', 'list', true)).toThrow(/accepted: application\/json, application\/vnd\.kubernetes\.protobuf,/);
    expect(negotiateView('*/*', 'object', true)).toEqual({ kind: 'objects' });
    expect(negotiateView(`${protobuf};q=0.9,application/json`, 'object', true)).toEqual({ kind: 'objects' });
    expect(negotiateView(`${protobuf};as=Table;v=v1;g=meta.k8s.io,${protobuf}`, 'list', true)).toEqual({ kind: 'protobuf' });
    expect(() => negotiateView(`${protobuf};stream=watch`, 'list', true)).toThrow(/only/);
  });
});

describe('negotiateWatch (watch encodings and views)', () => {
  const encodings = [JSON_WATCH_ENCODING, MSGPACK_WATCH_ENCODING, PROTOBUF_WATCH_ENCODING];
  const pods = BUILTIN_RESOURCES.find((r) => r.plural === 'pods')!;
  const widgets = defineResource({ group: 'example.com', version: 'v1', kind: 'Widget', plural: 'widgets', namespaced: true });
  const choose = (accept: string | undefined, def = pods): string => {
    const { encoding, view } = negotiateWatch(accept, encodings, def);
    return view === undefined ? encoding.mediaType : `${encoding.mediaType} ${view.kind} ${view.version}`;
  };

  it('q-values rank the encodings; ties go to the client’s order; nothing named is JSON', () => {
    expect(choose('application/json;q=0.5, application/vnd.msgpack')).toBe('application/vnd.msgpack');
    expect(choose('application/vnd.msgpack;q=0.1, application/json')).toBe('application/json');
    expect(choose('application/json;stream=watch')).toBe('application/json');
    expect(choose(undefined)).toBe('application/json');
    expect(choose('*/*')).toBe('application/json');
  });

  it('protobuf for built-in kinds, with or without stream=watch; a custom resource takes the next choice, else 406', () => {
    expect(choose('application/vnd.kubernetes.protobuf;stream=watch')).toBe('application/vnd.kubernetes.protobuf');
    expect(choose('application/vnd.kubernetes.protobuf,application/json')).toBe('application/vnd.kubernetes.protobuf');
    expect(choose('application/vnd.kubernetes.protobuf,application/json', widgets)).toBe('application/json');
    expect(() => choose('application/vnd.kubernetes.protobuf;stream=watch', widgets)).toThrow(
      expect.objectContaining({ code: 'WC_ERR_NOT_ACCEPTABLE', message: expect.not.stringContaining('protobuf') }),
    );
  });

  it('Table and PartialObjectMetadata views in JSON; list conversions and protobuf conversions are not watch views', () => {
    expect(choose('application/json;as=Table;v=v1;g=meta.k8s.io,application/json')).toBe('application/json table v1');
    expect(choose('application/json;as=Table;v=v1beta1;g=meta.k8s.io;stream=watch')).toBe('application/json table v1beta1');
    expect(choose('application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io', widgets)).toBe('application/json metadata v1');
    expect(choose('application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json')).toBe('application/json');
    expect(() => choose('application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io')).toThrow(expect.objectContaining({ code: 'WC_ERR_NOT_ACCEPTABLE' }));
  });
});
