import { describe, expect, it } from 'vitest';
import { BUILTIN_RESOURCES, Registry, defineResource, parseResourcesFile } from '../../src/server/registry.js';

const base = { group: 'example.com', version: 'v1', kind: 'Widget', plural: 'widgets', namespaced: true };

describe('resource registry', () => {
  it('built-ins: pods are indexed by spec.nodeName and select on their string fields', () => {
    const pods = BUILTIN_RESOURCES.find((d) => d.plural === 'pods')!;
    expect(pods).toMatchObject({ group: '', version: 'v1', kind: 'Pod', listKind: 'PodList', namespaced: true, trigger: 'spec.nodeName' });
    expect(pods.selectableFields).toEqual(expect.arrayContaining(['spec.nodeName', 'status.phase']));
    expect(BUILTIN_RESOURCES.find((d) => d.plural === 'namespaces')).toMatchObject({ namespaced: false, nameRule: 'dns1123-label' });
    // kube-apiserver's per-type name rules; core/v1 Events keep their legacy validation.
    expect(BUILTIN_RESOURCES.find((d) => d.plural === 'services')).toMatchObject({ nameRule: 'dns1035-label', validatesMetadata: true });
    expect(BUILTIN_RESOURCES.find((d) => d.plural === 'events')).toMatchObject({ nameRule: 'path-segment', validatesMetadata: false });
  });

  it('storage keys: /registry/RESOURCE/NS/NAME, cluster-scoped /registry/RESOURCE/NAME, groups /registry/GROUP/RESOURCE/...', () => {
    const widget = defineResource(base);
    const cluster = defineResource({ ...base, kind: 'Gizmo', plural: 'gizmos', namespaced: false });
    const registry = new Registry([...BUILTIN_RESOURCES, widget, cluster], '/registry');
    const pods = registry.lookup('', 'v1', 'pods')!;
    const nodes = registry.lookup('', 'v1', 'nodes')!;
    expect(registry.keyOf(pods, 'default', 'web')).toBe('/registry/pods/default/web');
    expect(registry.keyOf(nodes, undefined, 'n1')).toBe('/registry/nodes/n1');
    expect(registry.keyOf(widget, 'ns', 'w')).toBe('/registry/example.com/widgets/ns/w');
    expect(registry.keyOf(cluster, undefined, 'g')).toBe('/registry/example.com/gizmos/g');
    expect(new Registry(BUILTIN_RESOURCES, '/other/').prefixOf(pods)).toBe('/other/pods/');
  });

  it('apps and batch are stored as kube-apiserver stores them: /registry/PLURAL/NS/NAME, without the group', () => {
    const registry = new Registry(BUILTIN_RESOURCES, '/registry');
    const keys = ['deployments', 'replicasets', 'statefulsets', 'daemonsets'].map((p) => registry.keyOf(registry.lookup('apps', 'v1', p)!, 'ns', 'x'));
    expect(keys).toEqual(['/registry/deployments/ns/x', '/registry/replicasets/ns/x', '/registry/statefulsets/ns/x', '/registry/daemonsets/ns/x']);
    expect(registry.keyOf(registry.lookup('batch', 'v1', 'jobs')!, 'ns', 'x')).toBe('/registry/jobs/ns/x');
    expect(registry.keyOf(registry.lookup('batch', 'v1', 'cronjobs')!, 'ns', 'x')).toBe('/registry/cronjobs/ns/x');
    expect([...registry.groups().keys()]).toEqual(['apps', 'batch']);
    // kube-apiserver's only built-in trigger is the pods' spec.nodeName: none of these has one.
    const workloads = BUILTIN_RESOURCES.filter((r) => r.group === 'apps' || r.group === 'batch');
    expect(workloads.map((r) => [r.plural, r.trigger])).toEqual(['deployments', 'replicasets', 'statefulsets', 'daemonsets', 'jobs', 'cronjobs'].map((p) => [p, undefined]));
  });

  it('the authorization.k8s.io group is the server’s own: a resource may not declare it', () => {
    const review = defineResource({ ...base, group: 'authorization.k8s.io' });
    expect(() => new Registry([...BUILTIN_RESOURCES, review], '/registry')).toThrow(/authorization.k8s.io is the server's own/);
  });

  it('defaults of a custom resource; the trigger is selectable', () => {
    expect(defineResource({ ...base, trigger: 'spec.owner', selectableFields: ['spec.color', 'metadata.name'] })).toEqual({
      ...base,
      singular: 'widget',
      listKind: 'WidgetList',
      shortNames: [],
      categories: [],
      trigger: 'spec.owner',
      selectableFields: ['spec.color', 'spec.owner'],
      nameRule: 'dns1123-subdomain',
      validatesMetadata: true,
    });
  });

  it.each([
    [{ ...base, group: 'nodots' }, /group: must be a DNS subdomain with at least one dot/],
    [{ ...base, group: '' }, /group/],
    [{ ...base, version: '1' }, /version: must look like v1/],
    [{ ...base, kind: 'widget' }, /kind: must be a CamelCase identifier/],
    [{ ...base, plural: 'Widgets' }, /plural: must be a lowercase DNS-1035 label/],
    [{ ...base, namespaced: 'yes' }, /namespaced: must be true or false/],
    [{ ...base, trigger: 'spec..x' }, /trigger: must be a dotted field path/],
    [{ ...base, trigger: 'metadata.name' }, /trigger: must be a field outside metadata/],
    [{ ...base, selectableFields: ['metadata.labels'] }, /only metadata.name and metadata.namespace/],
    [{ ...base, selectableFields: 'spec.x' }, /selectableFields: must be an array/],
    [{ ...base, windowBytes: 1000 }, /windowBytes: must be a power of two/],
    [{ ...base, plurl: 'x' }, /plurl: unknown field/],
  ])('rejects %j', (config, message) => {
    expect(() => defineResource(config)).toThrow(message);
  });

  it('the resources file: JSON {"resources": [...]}, errors name the file and the entry', () => {
    expect(parseResourcesFile(JSON.stringify({ resources: [base] }), 'r.json')).toHaveLength(1);
    expect(() => parseResourcesFile('{', 'r.json')).toThrow(/r\.json: is not valid JSON/);
    expect(() => parseResourcesFile('[]', 'r.json')).toThrow(/must be a JSON object/);
    expect(() => parseResourcesFile('{"resource": []}', 'r.json')).toThrow(/unknown field/);
    expect(() => parseResourcesFile(JSON.stringify({ resources: [{ ...base, version: 'v0' }] }), 'r.json')).toThrow(/r\.json: resources\[0\]\.version/);
  });

  it('duplicates are refused: the same path, the same kind, or two versions of one resource', () => {
    const widget = defineResource(base);
    expect(() => new Registry([widget, widget], '/registry')).toThrow(/declared twice/);
    expect(() => new Registry([widget, defineResource({ ...base, plural: 'widgetz' })], '/registry')).toThrow(/kind Widget .* declared twice/);
    expect(() => new Registry([widget, defineResource({ ...base, version: 'v2', kind: 'Widget2' })], '/registry')).toThrow(/two versions/);
  });
});
