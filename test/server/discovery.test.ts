import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_RESOURCES, defineResource } from '../../src/server/registry.js';
import { call, startTestServer, type TestServer } from './http-helpers.js';

const widget = defineResource({
  group: 'example.com',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  namespaced: true,
  shortNames: ['wg'],
  trigger: 'spec.owner',
  selectableFields: ['spec.color'],
});
const gadget = defineResource({ group: 'example.com', version: 'v1beta1', kind: 'Gadget', plural: 'gadgets', namespaced: false });

describe('discovery', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ resources: [...BUILTIN_RESOURCES, widget, gadget] });
  });
  afterAll(() => t.close());

  it('/api lists the core versions with the server address', async () => {
    const r = await call(t.url, '/api');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.json).toEqual({
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: new URL(t.url).host }],
    });
  });

  it('/api/v1 is an APIResourceList of the core resources, shaped as kube-apiserver', async () => {
    const r = await call(t.url, '/api/v1');
    expect(r.status).toBe(200);
    expect(r.json.kind).toBe('APIResourceList');
    expect(r.json.groupVersion).toBe('v1');
    expect(r.json.apiVersion).toBeUndefined();
    const names = r.json.resources.map((x: { name: string }) => x.name);
    expect(names).toEqual([
      'pods',
      'pods/status',
      'nodes',
      'nodes/status',
      'namespaces',
      'namespaces/status',
      'configmaps',
      'secrets',
      'services',
      'services/status',
      'endpoints',
      'events',
      'serviceaccounts',
      'persistentvolumes',
      'persistentvolumes/status',
      'persistentvolumeclaims',
      'persistentvolumeclaims/status',
    ]);
    const byName = new Map(r.json.resources.map((x: { name: string }) => [x.name, x]));
    expect(byName.get('serviceaccounts')).toMatchObject({ kind: 'ServiceAccount', namespaced: true, shortNames: ['sa'] });
    expect(byName.get('persistentvolumes')).toMatchObject({ kind: 'PersistentVolume', namespaced: false, shortNames: ['pv'] });
    expect(byName.get('persistentvolumeclaims')).toMatchObject({ kind: 'PersistentVolumeClaim', namespaced: true, shortNames: ['pvc'] });
    const pods = r.json.resources[0];
    expect(pods).toEqual({
      name: 'pods',
      singularName: 'pod',
      namespaced: true,
      kind: 'Pod',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['po'],
      categories: ['all'],
    });
    expect(r.json.resources[1]).toEqual({ name: 'pods/status', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get', 'patch', 'update'] });
    const namespaces = r.json.resources.find((x: { name: string }) => x.name === 'namespaces');
    expect(namespaces).toMatchObject({ namespaced: false, kind: 'Namespace', shortNames: ['ns'] });
    // Go's omitempty: no empty lists.
    expect(r.json.resources.find((x: { name: string }) => x.name === 'secrets').shortNames).toBeUndefined();
  });

  it('/apis lists apps, batch, the custom groups and authorization.k8s.io with their versions and preferred version', async () => {
    const r = await call(t.url, '/apis');
    expect(r.status).toBe(200);
    const only = (group: string) => ({ name: group, versions: [{ groupVersion: `${group}/v1`, version: 'v1' }], preferredVersion: { groupVersion: `${group}/v1`, version: 'v1' } });
    expect(r.json).toEqual({
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [
        only('apps'),
        only('batch'),
        {
          name: 'example.com',
          versions: [
            { groupVersion: 'example.com/v1', version: 'v1' },
            { groupVersion: 'example.com/v1beta1', version: 'v1beta1' },
          ],
          preferredVersion: { groupVersion: 'example.com/v1', version: 'v1' },
        },
        only('authorization.k8s.io'),
      ],
    });
  });

  it('/apis/apps/v1 lists the apps kinds with their short names, the all category, and their status and scale subresources', async () => {
    const r = await call(t.url, '/apis/apps/v1');
    expect(r.status).toBe(200);
    expect(r.json.groupVersion).toBe('apps/v1');
    const byName = new Map(r.json.resources.map((x: { name: string }) => [x.name, x]));
    expect([...byName.keys()]).toEqual([
      'deployments',
      'deployments/scale',
      'deployments/status',
      'replicasets',
      'replicasets/scale',
      'replicasets/status',
      'statefulsets',
      'statefulsets/scale',
      'statefulsets/status',
      'daemonsets',
      'daemonsets/status',
    ]);
    expect(byName.get('deployments')).toEqual({
      name: 'deployments',
      singularName: 'deployment',
      namespaced: true,
      kind: 'Deployment',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['deploy'],
      categories: ['all'],
    });
    expect(byName.get('deployments/scale')).toEqual({
      name: 'deployments/scale',
      singularName: '',
      namespaced: true,
      group: 'autoscaling',
      version: 'v1',
      kind: 'Scale',
      verbs: ['get', 'patch', 'update'],
    });
    expect(byName.get('deployments/status')).toEqual({ name: 'deployments/status', singularName: '', namespaced: true, kind: 'Deployment', verbs: ['get', 'patch', 'update'] });
    expect(byName.get('replicasets')).toMatchObject({ shortNames: ['rs'] });
    expect(byName.get('statefulsets')).toMatchObject({ shortNames: ['sts'] });
    expect(byName.get('daemonsets')).toMatchObject({ shortNames: ['ds'] });
    const batch = await call(t.url, '/apis/batch/v1');
    expect(batch.json.resources.map((x: { name: string }) => x.name)).toEqual(['jobs', 'jobs/status', 'cronjobs', 'cronjobs/status']);
    expect(batch.json.resources[2]).toMatchObject({ kind: 'CronJob', shortNames: ['cj'], categories: ['all'] });
  });

  it('/apis/authorization.k8s.io/v1 lists selfsubjectaccessreviews (create only)', async () => {
    const group = await call(t.url, '/apis/authorization.k8s.io');
    expect(group.json).toMatchObject({ kind: 'APIGroup', name: 'authorization.k8s.io', preferredVersion: { groupVersion: 'authorization.k8s.io/v1' } });
    const r = await call(t.url, '/apis/authorization.k8s.io/v1');
    expect(r.json).toEqual({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: 'authorization.k8s.io/v1',
      resources: [{ name: 'selfsubjectaccessreviews', singularName: 'selfsubjectaccessreview', namespaced: false, kind: 'SelfSubjectAccessReview', verbs: ['create'] }],
    });
    expect((await call(t.url, '/apis/authorization.k8s.io/v2')).status).toBe(404);
  });

  it('/apis/GROUP and /apis/GROUP/VERSION describe the group and its resources', async () => {
    const group = await call(t.url, '/apis/example.com');
    expect(group.json).toMatchObject({ kind: 'APIGroup', apiVersion: 'v1', name: 'example.com', preferredVersion: { version: 'v1' } });
    const v1 = await call(t.url, '/apis/example.com/v1');
    expect(v1.json).toEqual({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: 'example.com/v1',
      resources: [
        {
          name: 'widgets',
          singularName: 'widget',
          namespaced: true,
          kind: 'Widget',
          verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
          shortNames: ['wg'],
        },
      ],
    });
    const beta = await call(t.url, '/apis/example.com/v1beta1');
    expect(beta.json.resources).toEqual([expect.objectContaining({ name: 'gadgets', namespaced: false, kind: 'Gadget' })]);
    expect((await call(t.url, '/apis/example.com/v2')).status).toBe(404);
    expect((await call(t.url, '/apis/nothing.io')).status).toBe(404);
  });

  it('aggregated-discovery Accept headers get the legacy documents as application/json', async () => {
    const accept =
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
    const r = await call(t.url, '/apis', { headers: { accept } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.json.kind).toBe('APIGroupList');
  });

  it('/version, /healthz, /livez, /readyz and /', async () => {
    const version = await call(t.url, '/version');
    expect(version.json).toMatchObject({ major: '1', minor: expect.any(String), gitVersion: expect.stringMatching(/^v1\.\d+\.\d+/) });
    expect(await call(t.url, '/healthz')).toMatchObject({ status: 200, text: 'ok' });
    expect(await call(t.url, '/livez')).toMatchObject({ status: 200, text: 'ok' });
    expect(await call(t.url, '/readyz')).toMatchObject({ status: 200, text: 'ok' });
    const root = await call(t.url, '/');
    expect(root.json.paths).toEqual(expect.arrayContaining(['/api', '/api/v1', '/apis', '/apis/example.com/v1', '/healthz', '/readyz', '/version']));
    expect(root.json.paths).not.toContain('/metrics');
  });

  it('/metrics is 404 without a metrics handler', async () => {
    expect((await call(t.url, '/metrics')).json).toMatchObject({ kind: 'Status', code: 404, reason: 'NotFound' });
  });

  it('/openapi/v3 indexes one document per group-version; each marks PATCH as taking fieldValidation', async () => {
    const index = await call(t.url, '/openapi/v3');
    expect(Object.keys(index.json.paths).sort()).toEqual(['api/v1', 'apis/apps/v1', 'apis/batch/v1', 'apis/example.com/v1', 'apis/example.com/v1beta1']);
    const spec = await call(t.url, index.json.paths['apis/example.com/v1'].serverRelativeURL);
    const patch = spec.json.paths['/apis/example.com/v1/namespaces/{namespace}/widgets/{name}'].patch;
    expect(patch['x-kubernetes-group-version-kind']).toEqual({ group: 'example.com', version: 'v1', kind: 'Widget' });
    expect(patch.parameters).toContainEqual(expect.objectContaining({ name: 'fieldValidation', in: 'query' }));
    expect(Object.keys(patch.requestBody.content)).not.toContain('application/strategic-merge-patch+json');
    const core = await call(t.url, '/openapi/v3/api/v1');
    expect(core.json.paths['/api/v1/nodes/{name}'].patch['x-kubernetes-group-version-kind']).toEqual({ group: '', version: 'v1', kind: 'Node' });
    expect((await call(t.url, '/openapi/v3/apis/example.com/v9')).status).toBe(404);
  });

  it('/openapi/v2 answers protobuf in kube-openapi\'s spelling of the media type, or JSON', async () => {
    const r = await call(t.url, '/openapi/v2', { headers: { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' } });
    expect(r.status).toBe(200);
    // Answered in kube-openapi's `.` spelling: Go's mime parser (kubectl 1.20) rejects the `@` one.
    expect(r.headers.get('content-type')).toBe('application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    expect(r.text.length).toBeGreaterThan(0); // the schemas: test/server/openapi.test.ts
    expect((await call(t.url, '/openapi/v2')).json).toMatchObject({ swagger: '2.0' });
  });

  it('discovery is open even when tokens are required', async () => {
    const { TokenTable } = await import('../../src/server/auth.js');
    const secured = await startTestServer({ tokens: TokenTable.parse('secret-token,admin,rw\n') });
    try {
      expect((await call(secured.url, '/api/v1')).status).toBe(200);
      expect((await call(secured.url, '/version')).status).toBe(200);
      expect((await call(secured.url, '/readyz')).status).toBe(200);
      expect((await call(secured.url, '/api/v1/pods')).status).toBe(401);
    } finally {
      await secured.close();
    }
  });
});
