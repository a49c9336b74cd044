/**
 * Object metadata is validated as kube-apiserver validates it, on create, update and patch,
 * before anything is stored: a bad label, annotation, name or generateName is a 422 Invalid whose
 * message and causes are those kubectl prints for kube-apiserver.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_RESOURCES, defineResource } from '../../src/server/registry.js';
import { call, POD_SPEC, startTestServer, type TestServer } from './http-helpers.js';

const NAME_PART =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const SUBDOMAIN =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const KIB = 1024;

const widget = defineResource({ group: 'example.com', version: 'v1', kind: 'Widget', plural: 'widgets', namespaced: true });

describe('metadata validation', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ workers: 0, resources: [...BUILTIN_RESOURCES, widget] });
  });
  afterAll(() => t.close());

  const pods = '/api/v1/namespaces/default/pods';
  const pod = (metadata: Record<string, unknown>): unknown => ({ apiVersion: 'v1', kind: 'Pod', metadata, spec: POD_SPEC });
  const create = (body: unknown, path = pods): ReturnType<typeof call> => call(t.url, path, { method: 'POST', json: body });
  const stored = async (key: string): Promise<unknown> => {
    const { item } = await t.storage.get(key);
    return item === null ? undefined : JSON.parse(Buffer.from(item.value).toString());
  };

  describe('on create: what kube-apiserver refuses is refused with its Status, and nothing is stored', () => {
    it.each<[string, Record<string, unknown>, string, string]>([
      ['a label key with a space', { labels: { 'a b': 'x' } }, 'metadata.labels', `Invalid value: "a b": ${NAME_PART}`],
      ['a 64-character label value', { labels: { a: 'v'.repeat(64) } }, 'metadata.labels', `Invalid value: "${'v'.repeat(64)}": must be no more than 63 characters`],
      ['a label value with a slash', { labels: { a: 'x/y' } }, 'metadata.labels', `Invalid value: "x/y": ${LABEL_VALUE}`],
      ['a label key with a bad prefix', { labels: { 'Example.com/a': 'x' } }, 'metadata.labels', `Invalid value: "Example.com/a": prefix part ${SUBDOMAIN}`],
      ['an annotation key with a space', { annotations: { 'a b': 'x' } }, 'metadata.annotations', `Invalid value: "a b": ${NAME_PART}`],
      ['300 KiB of annotations', { annotations: { big: 'x'.repeat(300 * KIB) } }, 'metadata.annotations', 'Too long: must have at most 262144 bytes'],
    ])('%s', async (_what, metadata, field, message) => {
      const r = await create(pod({ name: 'bad', ...metadata }));
      expect(r.status).toBe(422);
      const reason = message.startsWith('Too long') ? 'FieldValueTooLong' : 'FieldValueInvalid';
      expect(r.json).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `Pod "bad" is invalid: ${field}: ${message}`,
        reason: 'Invalid',
        details: { name: 'bad', kind: 'Pod', causes: [{ reason, message, field }] },
        code: 422,
      });
      expect(await stored('/registry/pods/default/bad')).toBeUndefined();
    });

    it('reports every problem at once, as kubectl lists them', async () => {
      const r = await create(pod({ name: 'many', labels: { 'a b': '-x' }, annotations: { '-k': 'v' } }));
      expect(r.status).toBe(422);
      expect(r.json.details.causes).toEqual([
        { reason: 'FieldValueInvalid', field: 'metadata.labels', message: `Invalid value: "a b": ${NAME_PART}` },
        { reason: 'FieldValueInvalid', field: 'metadata.labels', message: `Invalid value: "-x": ${LABEL_VALUE}` },
        { reason: 'FieldValueInvalid', field: 'metadata.annotations', message: `Invalid value: "-k": ${NAME_PART}` },
      ]);
      expect(r.json.message).toBe(
        `Pod "many" is invalid: [metadata.labels: Invalid value: "a b": ${NAME_PART}, metadata.labels: Invalid value: "-x": ${LABEL_VALUE}, metadata.annotations: Invalid value: "-k": ${NAME_PART}]`,
      );
    });

    it('a bad generateName is reported with the name it generated', async () => {
      const r = await create(pod({ generateName: 'Web-' }));
      expect(r.status).toBe(422);
      const fields = r.json.details.causes.map((c: { field: string }) => c.field);
      expect(fields).toEqual(['metadata.generateName', 'metadata.name']);
      expect(r.json.details.causes[0].message).toBe(`Invalid value: "Web-": ${SUBDOMAIN}`);
      expect(r.json.details.name).toMatch(/^Web-[a-z0-9]{5}$/);
    });

    it('a custom resource is named by its group-qualified kind', async () => {
      const r = await create({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', labels: { a: 'x/y' } } }, '/apis/example.com/v1/namespaces/default/widgets');
      expect(r.status).toBe(422);
      expect(r.json.message).toBe(`Widget.example.com "w" is invalid: metadata.labels: Invalid value: "x/y": ${LABEL_VALUE}`);
      expect(r.json.details).toMatchObject({ name: 'w', group: 'example.com', kind: 'Widget' });
    });
  });

  describe('on create: real-world metadata passes', () => {
    it('well-known prefixed keys, an empty label value, uppercase annotation keys, 256 KiB of annotations', async () => {
      const labels = {
        'app.kubernetes.io/name': 'web',
        'app.kubernetes.io/version': '1.2.3',
        'kubernetes.io/hostname': 'ip-10-0-0-1.ec2.internal',
        'node-role.kubernetes.io/control-plane': '',
        'pod-template-hash': '7d4b9c8f6',
        Tier: 'Front_End',
        [`${'p'.repeat(253)}/${'n'.repeat(63)}`]: 'v'.repeat(63),
      };
      const annotations: Record<string, string> = {
        'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"v1"}',
        // Annotation keys are case-insensitive qualified names: an uppercase prefix is fine.
        'Example.COM/Owner': 'team a/b',
      };
      // Keys and values together exactly at the limit of 256 KiB.
      const used = Object.entries(annotations).reduce((n, [k, v]) => n + k.length + v.length, 0);
      annotations.big = 'a'.repeat(256 * KIB - used - 'big'.length);
      const r = await create(pod({ name: 'real', labels, annotations }));
      expect(r.status, r.text.slice(0, 500)).toBe(201);
      expect(r.json.metadata.labels).toEqual(labels);
      // One byte more is too many.
      const over = await create(pod({ name: 'over', annotations: { ...annotations, big: `${annotations.big}a` } }));
      expect(over.status).toBe(422);
      expect(over.json.details.causes).toEqual([{ reason: 'FieldValueTooLong', message: 'Too long: must have at most 262144 bytes', field: 'metadata.annotations' }]);
    });

    it('names follow their resource: a dotted name is a DNS-1123 subdomain for pods and configmaps, not a DNS-1123 label for namespaces nor a DNS-1035 label for services', async () => {
      const dotted = 'web.v1.example';
      expect((await create(pod({ name: dotted }))).status).toBe(201);
      expect((await create({ metadata: { name: dotted }, data: {} }, '/api/v1/namespaces/default/configmaps')).status).toBe(201);
      for (const path of ['/api/v1/namespaces', '/api/v1/namespaces/default/services']) {
        const r = await create({ metadata: { name: dotted } }, path);
        expect(r.status, path).toBe(422);
        expect(r.json.details.causes, path).toEqual([expect.objectContaining({ field: 'metadata.name', reason: 'FieldValueInvalid' })]);
      }
      expect(await stored('/registry/namespaces/web.v1.example')).toBeUndefined();
      expect(await stored('/registry/services/default/web.v1.example')).toBeUndefined();
    });

    it('a namespace generateName may end in a dash', async () => {
      const r = await call(t.url, '/api/v1/namespaces', { method: 'POST', json: { metadata: { generateName: 'team-' } } });
      expect(r.status).toBe(201);
      expect(r.json.metadata.name).toMatch(/^team-[a-z0-9]{5}$/);
    });

    it('core/v1 events keep their legacy validation: any path-segment name, metadata unchecked', async () => {
      const events = '/api/v1/namespaces/default/events';
      const ok = await create({ metadata: { name: 'Pod.17A3_x', labels: { 'a b': 'x/y' } }, involvedObject: { kind: 'Pod', name: 'x', namespace: 'default' }, reason: 'Started' }, events);
      expect(ok.status, ok.text).toBe(201);
      const slash = await create({ metadata: { name: 'a/b' } }, events);
      expect(slash.status).toBe(400);
      expect(slash.json.message).toBe(`Name parameter invalid: "a/b": may not contain '/'`);
    });
  });

  describe('on update and patch: the resulting object is validated before it is stored', () => {
    let before: unknown;
    beforeAll(async () => {
      expect((await create(pod({ name: 'target', labels: { app: 'web' } }))).status).toBe(201);
      before = await stored('/registry/pods/default/target');
    });

    const patch = (type: string, body: unknown): ReturnType<typeof call> =>
      call(t.url, `${pods}/target`, { method: 'PATCH', headers: { 'content-type': type }, body: JSON.stringify(body) });

    it.each<[string, () => ReturnType<typeof call>]>([
      ['PUT with a bad label value', () => call(t.url, `${pods}/target`, { method: 'PUT', json: pod({ name: 'target', labels: { app: 'x/y' } }) })],
      ['a merge patch adding a bad label key', () => patch('application/merge-patch+json', { metadata: { labels: { 'a b': 'x' } } })],
      ['a strategic merge patch adding a bad label key', () => patch('application/strategic-merge-patch+json', { metadata: { labels: { 'a b': 'x' } } })],
      ['a JSON patch setting a 64-character value', () => patch('application/json-patch+json', [{ op: 'replace', path: '/metadata/labels/app', value: 'v'.repeat(64) }])],
      ['a merge patch adding 300 KiB of annotations', () => patch('application/merge-patch+json', { metadata: { annotations: { big: 'x'.repeat(300 * KIB) } } })],
    ])('%s: 422 Invalid, the stored object unchanged', async (_what, send) => {
      const r = await send();
      expect(r.status, r.text.slice(0, 300)).toBe(422);
      expect(r.json).toMatchObject({ reason: 'Invalid', details: { name: 'target', kind: 'Pod' } });
      expect(r.json.message).toMatch(/^Pod "target" is invalid: metadata\.(labels|annotations): /);
      expect(await stored('/registry/pods/default/target')).toEqual(before);
    });

    it('a valid patch still applies', async () => {
      const r = await patch('application/merge-patch+json', { metadata: { labels: { 'app.kubernetes.io/name': 'web' } } });
      expect(r.status).toBe(200);
      expect(r.json.metadata.labels).toEqual({ app: 'web', 'app.kubernetes.io/name': 'web' });
    });
  });
});
