import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../../src/errors.js';
import { messageNamed, readMessage, sharedWriter, writeMessage, type Message } from '../../../src/encode/protobuf/codec.js';
import { decodeObject, encodeList, encodeObject, hasProtobufSchema, unwrapEnvelope } from '../../../src/encode/protobuf/envelope.js';
import { ProtobufReader } from '../../../src/encode/protobuf/wire.js';
import { ALL_KINDS, configMap, pod } from './fixtures/objects.js';
import { codeOf } from '../../helpers/errors.js';

/** The body (no key, no length, no envelope) of one message, as encodeObject writes it inside the envelope. */
function encodeMessage(message: Message, object: Record<string, unknown>): Uint8Array {
  const w = sharedWriter();
  writeMessage(w, message, object);
  return w.finish();
}

/** One message's body read back, as decodeObject reads it inside the envelope. */
function decodeMessage(message: Message, bytes: Uint8Array): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  readMessage(new ProtobufReader(bytes), message, bytes.length, out);
  return out;
}

const fixture = (name: string): Buffer => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

describe('protobuf codec: JSON -> protobuf -> JSON', () => {
  for (const object of ALL_KINDS) {
    const name = `${object.kind} ${object.apiVersion} ${(object.metadata as { name?: string }).name ?? ''}`;
    it(`round trips a realistic ${name} unchanged`, () => {
      const bytes = encodeObject(object);
      expect(decodeObject(bytes)).toEqual(object);
    });
  }

  it('the envelope is the magic k8s\\0 and a runtime.Unknown carrying the type, the body and empty content fields', () => {
    const bytes = encodeObject(configMap);
    expect(Buffer.from(bytes.subarray(0, 4)).toString('latin1')).toBe('k8s\0');
    const envelope = unwrapEnvelope(bytes);
    expect(envelope).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', contentEncoding: '', contentType: '' });
    expect(Buffer.from(bytes.subarray(bytes.length - 4)).toString('hex')).toBe('1a002200');
    expect(decodeMessage(messageNamed('core.v1.ConfigMap'), envelope.raw)).toEqual({ ...configMap, apiVersion: undefined, kind: undefined });
  });

  it('writes the same bytes as kubectl 1.33 for the same fields, zero values included', () => {
    const zeroMeta = { generateName: '', namespace: '', selfLink: '', uid: '', resourceVersion: '', generation: 0, creationTimestamp: null };
    const cases: [string, Record<string, unknown>][] = [
      ['kubectl-1.33-create-configmap.bin', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'demo', ...zeroMeta }, data: { a: 'b' } }],
      ['kubectl-1.33-create-namespace.bin', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo-ns', ...zeroMeta }, spec: {}, status: { phase: '' } }],
      [
        'kubectl-1.33-create-secret-generic.bin',
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'demo-secret', ...zeroMeta }, data: { user: Buffer.from('admin').toString('base64') }, type: '' },
      ],
    ];
    for (const [file, object] of cases) expect(Buffer.from(encodeObject(object)).toString('hex'), file).toBe(fixture(file).toString('hex'));
  });

  it('decodes like Go prints: zero values of omitempty non-pointer fields vanish, set pointers stay even when false', () => {
    const body = encodeMessage(messageNamed('core.v1.Pod'), {
      metadata: { name: 'a', namespace: '', generation: 0 },
      spec: { hostNetwork: false, automountServiceAccountToken: false, priority: 0, containers: [{ name: 'c', image: '' }] },
      status: { containerStatuses: [{ name: 'c', ready: false, restartCount: 0, image: '', imageID: '' }] },
    });
    expect(decodeMessage(messageNamed('core.v1.Pod'), body)).toEqual({
      metadata: { name: 'a' },
      spec: { automountServiceAccountToken: false, priority: 0, containers: [{ name: 'c' }] },
      status: { containerStatuses: [{ name: 'c', ready: false, restartCount: 0, image: '', imageID: '' }] },
    });
  });

  it('maps the special kinds: Time, MicroTime, Quantity, IntOrString, FieldsV1 and bytes', () => {
    const event = decodeObject(
      encodeObject({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'e', creationTimestamp: '2024-05-01T12:00:00+02:00' },
        involvedObject: {},
        eventTime: '2024-05-01T10:00:00.5Z',
        reportingComponent: '',
        reportingInstance: '',
      }),
    );
    expect((event.metadata as Record<string, unknown>).creationTimestamp).toBe('2024-05-01T10:00:00Z');
    expect(event.eventTime).toBe('2024-05-01T10:00:00.500000Z');

    const node = decodeObject(encodeObject({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, status: { capacity: { cpu: 4, memory: '1Gi' } } }));
    expect((node.status as Record<string, unknown>).capacity).toEqual({ cpu: '4', memory: '1Gi' });

    const svc = messageNamed('core.v1.ServicePort');
    expect(Buffer.from(encodeMessage(svc, { port: 80, targetPort: 8080 })).toString('hex')).toBe('1850' + '2207' + '0800' + '10903f' + '1a00');
    expect(Buffer.from(encodeMessage(svc, { port: 80, targetPort: 'http' })).toString('hex')).toBe('1850' + '220a' + '0801' + '1000' + '1a0468747470');

    const entry = messageNamed('meta.v1.ManagedFieldsEntry');
    const fields = { 'f:data': { 'f:a': {} } };
    const body = encodeMessage(entry, { manager: 'm', fieldsType: 'FieldsV1', fieldsV1: fields });
    expect(Buffer.from(body).includes(Buffer.from(JSON.stringify(fields)))).toBe(true);
    expect(decodeMessage(entry, body).fieldsV1).toEqual(fields);

    const secret = encodeObject({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: Buffer.from([0, 1, 254, 255]).toString('base64') } });
    expect(Buffer.from(secret).includes(Buffer.from([0x12, 0x04, 0, 1, 254, 255]))).toBe(true);
  });

  it('writes map entries sorted by key and fields in field-number order, whatever the JSON order', () => {
    const a = encodeObject({ kind: 'ConfigMap', apiVersion: 'v1', data: { b: '2', a: '1' }, metadata: { labels: { z: '1', y: '2' }, name: 'x' } });
    const b = encodeObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', labels: { y: '2', z: '1' } }, data: { a: '1', b: '2' } });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  it('drops JSON fields the schema does not know, and skips protobuf fields it does not know', () => {
    const withExtra = { ...configMap, surprise: { deep: 1 }, metadata: { ...(configMap.metadata as object), madeUp: 'x' } };
    expect(decodeObject(encodeObject(withExtra))).toEqual(configMap);
    const body = encodeMessage(messageNamed('core.v1.ConfigMap'), { metadata: { name: 'x' } });
    const withUnknown = Buffer.concat([body, Buffer.from([0xf8, 0x07, 0x05]), Buffer.from([0xfa, 0x07, 0x02, 0x61, 0x62])]);
    expect(decodeMessage(messageNamed('core.v1.ConfigMap'), withUnknown)).toEqual({ metadata: { name: 'x' } });
  });

  it('encodes a List as one envelope whose items are embedded messages without type', () => {
    const pods = [0, 1, 2].map((i) => ({ ...pod, metadata: { ...(pod.metadata as object), name: `web-${i}` } }));
    const bytes = encodeList('v1', 'PodList', { resourceVersion: '99', continue: 'abc' }, pods.map((p) => encodeObject(p)));
    const { apiVersion: _a, kind: _k, ...untyped } = pod;
    expect(decodeObject(bytes)).toEqual({
      apiVersion: 'v1',
      kind: 'PodList',
      metadata: { resourceVersion: '99', continue: 'abc' },
      items: pods.map((p) => ({ ...untyped, metadata: p.metadata })),
    });
    expect(decodeObject(encodeList('apps/v1', 'DeploymentList', {}, []))).toEqual({ apiVersion: 'apps/v1', kind: 'DeploymentList', metadata: {} });
  });

  it('encodes the List of every built-in kind', () => {
    for (const object of ALL_KINDS.filter((o) => o.kind !== 'Status')) {
      const { apiVersion, kind, ...untyped } = object as { apiVersion: string; kind: string };
      const list = decodeObject(encodeList(apiVersion, `${kind}List`, { resourceVersion: '5' }, [encodeObject(object), encodeObject(object)]));
      expect(list, kind).toEqual({ apiVersion, kind: `${kind}List`, metadata: { resourceVersion: '5' }, items: [untyped, untyped] });
    }
  });

  it('knows which kinds have a protobuf form: the built-in ones, not custom resources', () => {
    for (const [apiVersion, kind] of [
      ['v1', 'Pod'],
      ['v1', 'SecretList'],
      ['apps/v1', 'StatefulSet'],
      ['batch/v1', 'CronJobList'],
      ['v1', 'Status'],
    ]) {
      expect(hasProtobufSchema(apiVersion!, kind!), `${apiVersion} ${kind}`).toBe(true);
    }
    expect(hasProtobufSchema('example.com/v1', 'Widget')).toBe(false);
    expect(hasProtobufSchema('apps/v1', 'Pod')).toBe(false);
    expect(hasProtobufSchema('v1', 'ObjectMeta')).toBe(false);
  });
});

describe('protobuf codec: bad input', () => {
  it('refuses to encode a kind without a protobuf form with 406 (WC_ERR_NOT_ACCEPTABLE)', () => {
    expect(codeOf(() => encodeObject({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }))).toBe(ErrorCodes.NOT_ACCEPTABLE);
  });

  it('refuses a request body of a kind without a protobuf form with 415 (WC_ERR_UNSUPPORTED_MEDIA_TYPE)', () => {
    const body = Buffer.from(encodeObject(configMap));
    const widget = Buffer.from(body.toString('latin1').replace('\x09ConfigMap', '\x09ConfigMop'), 'latin1');
    expect(codeOf(() => decodeObject(widget))).toBe(ErrorCodes.UNSUPPORTED_MEDIA_TYPE);
  });

  it('rejects a body without the magic, or not protobuf at all, as a bad request', () => {
    expect(codeOf(() => decodeObject(Buffer.from('{"kind":"ConfigMap"}')))).toBe(ErrorCodes.BAD_REQUEST);
    expect(codeOf(() => decodeObject(new Uint8Array(0)))).toBe(ErrorCodes.BAD_REQUEST);
    expect(codeOf(() => decodeObject(Buffer.from('k8s\0', 'latin1')))).toBe(ErrorCodes.BAD_REQUEST);
  });

  it('fails every truncation and corruption of a body with a clear error, never a crash', () => {
    const body = encodeObject(pod);
    const codes = new Set<string>();
    for (let n = 0; n < body.length; n += 3) {
      const code = codeOf(() => decodeObject(body.subarray(0, n)));
      if (code !== undefined) codes.add(code);
    }
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let i = 0; i < 300; i++) {
      const bad = Buffer.from(body);
      bad[4 + Math.floor(random() * (bad.length - 4))] = Math.floor(random() * 256);
      const code = codeOf(() => decodeObject(bad));
      if (code !== undefined) codes.add(code);
    }
    expect(codes.has(ErrorCodes.BAD_REQUEST)).toBe(true);
    expect([...codes].every((c) => c === ErrorCodes.BAD_REQUEST || c === ErrorCodes.UNSUPPORTED_MEDIA_TYPE)).toBe(true);
  });

  it('refuses to encode a JSON value of the wrong type with WC_ERR_INVALID_OBJECT, naming the field', () => {
    const bad = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: '3' } };
    expect(codeOf(() => encodeObject(bad))).toBe(ErrorCodes.INVALID_OBJECT);
    expect(() => encodeObject(bad)).toThrow(/"replicas".*an integer.*string/);
    expect(codeOf(() => encodeObject({ apiVersion: 'v1', kind: 'Pod', metadata: { creationTimestamp: 'yesterday' } }))).toBe(ErrorCodes.INVALID_OBJECT);
    expect(codeOf(() => encodeObject({ kind: 'Pod' }))).toBe(ErrorCodes.INVALID_OBJECT);
  });
});
