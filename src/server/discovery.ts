/**
 * Discovery documents, shaped field for field as kube-apiserver's legacy (unaggregated) discovery
 * so kubectl and client libraries can map kinds and short names to paths. Clients that ask for
 * aggregated discovery (`as=APIGroupDiscoveryList`) also accept these: they fall back when the
 * response's Content-Type is plain application/json.
 */
import { ACCESS_REVIEW_RESOURCE, AUTHORIZATION_VERSION } from './access-review.js';
import { VERBS } from './auth.js';
import { AUTHORIZATION_GROUP, type Registry, type ResourceDefinition } from './registry.js';

/** The Kubernetes API version whose wire protocol the server follows. */
const KUBERNETES_MAJOR = '1';
const KUBERNETES_MINOR = '31';

const SUBRESOURCE_VERBS = ['get', 'patch', 'update'];

interface GroupVersionForDiscovery {
  groupVersion: string;
  version: string;
}

function resourceEntry(def: ResourceDefinition): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    name: def.plural,
    singularName: def.singular,
    namespaced: def.namespaced,
    kind: def.kind,
    verbs: VERBS,
  };
  if (def.shortNames.length > 0) entry.shortNames = def.shortNames;
  if (def.categories.length > 0) entry.categories = def.categories;
  return entry;
}

/** A resource's entries: itself, then its subresources as kube-apiserver lists them. */
function resourceEntries(def: ResourceDefinition): Record<string, unknown>[] {
  const entries = [resourceEntry(def)];
  if (def.subresources?.scale !== undefined) {
    entries.push({ name: `${def.plural}/scale`, singularName: '', namespaced: def.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: SUBRESOURCE_VERBS });
  }
  if (def.subresources?.status !== undefined) {
    entries.push({ name: `${def.plural}/status`, singularName: '', namespaced: def.namespaced, kind: def.kind, verbs: SUBRESOURCE_VERBS });
  }
  return entries;
}

/** The groups served: the registry's (apps, batch, custom ones) and authorization.k8s.io. */
function servedGroups(registry: Registry): [string, readonly string[]][] {
  return [...registry.groups(), [AUTHORIZATION_GROUP, [AUTHORIZATION_VERSION]]];
}

export function apiVersions(serverAddress: string): unknown {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupEntry(group: string, versions: readonly string[]): Record<string, unknown> {
  const list: GroupVersionForDiscovery[] = versions.map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { name: group, versions: list, preferredVersion: list[0] };
}

export function apiGroupList(registry: Registry): unknown {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: servedGroups(registry).map(([group, versions]) => groupEntry(group, versions)),
  };
}

export function apiGroup(registry: Registry, group: string): unknown {
  const versions = servedGroups(registry).find(([name]) => name === group)?.[1] ?? [];
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(group, versions) };
}

export function apiResourceList(registry: Registry, group: string, version: string): unknown {
  const resources = registry.resourcesOf(group, version);
  const gv = group === '' ? version : `${group}/${version}`;
  // kube-apiserver omits apiVersion on the core list (/api/v1) and sets it on group lists.
  const head = group === '' ? { kind: 'APIResourceList' } : { kind: 'APIResourceList', apiVersion: 'v1' };
  if (group === AUTHORIZATION_GROUP) return { ...head, groupVersion: gv, resources: [ACCESS_REVIEW_RESOURCE] };
  return { ...head, groupVersion: gv, resources: resources.flatMap(resourceEntries) };
}

export function versionInfo(): unknown {
  return {
    major: KUBERNETES_MAJOR,
    minor: KUBERNETES_MINOR,
    gitVersion: `v${KUBERNETES_MAJOR}.${KUBERNETES_MINOR}.0+watchcache`,
    gitCommit: '',
    gitTreeState: '',
    buildDate: '',
    goVersion: process.version,
    compiler: 'node',
    platform: `${process.platform}/${process.arch}`,
  };
}

export function rootPaths(registry: Registry, metrics: boolean): unknown {
  const paths = ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/openapi/v2', '/openapi/v3', '/readyz', '/version'];
  for (const [group, versions] of servedGroups(registry)) {
    paths.push(`/apis/${group}`);
    for (const version of versions) paths.push(`/apis/${group}/${version}`);
  }
  if (metrics) paths.push('/metrics');
  return { paths: paths.sort() };
}
