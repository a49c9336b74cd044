/**
 * Kubernetes paths → what a request addresses. Parsing is strict on purpose: each segment is
 * percent-decoded once and must then be a plain path segment (no '/', '%', NUL, '.' or '..'), and
 * empty segments (`//`) are refused, so no spelling of a path can reach a storage key other than
 * the one its segments name.
 *
 *   /healthz /livez /readyz /version /metrics        non-resource endpoints
 *   /api  /api/v1  /apis  /apis/G  /apis/G/V          discovery
 *   /openapi/v2  /openapi/v3  /openapi/v3/api/v1  /openapi/v3/apis/G/V
 *   /api/v1/R[/NAME]                                  cluster-scoped objects, or all namespaces
 *   /api/v1/namespaces/NS/R[/NAME[/SUB]]              namespaced objects (SUB: status, scale)
 *   /apis/G/V/...                                     the same for group G, version V
 *   /api/v1/watch/...  /apis/G/V/watch/...            legacy watch paths: a watch of what the
 *                                                     rest of the path names (an object: its name)
 */
import { badRequest, pathNotFound } from './api-error.js';
import { isValidName, pathSegmentError } from './names.js';
import { ACCESS_REVIEW_PLURAL, AUTHORIZATION_VERSION } from './access-review.js';
import { AUTHORIZATION_GROUP, type Registry, type ResourceDefinition } from './registry.js';

export type Route =
  | { kind: 'root' }
  | { kind: 'healthz' }
  | { kind: 'livez' }
  | { kind: 'readyz' }
  | { kind: 'version' }
  | { kind: 'metrics' }
  | { kind: 'api' }
  | { kind: 'apis' }
  | { kind: 'group'; group: string }
  | { kind: 'groupVersion'; group: string; version: string }
  | { kind: 'openapiV2' }
  | { kind: 'openapiV3' }
  | { kind: 'openapiV3Spec'; group: string; version: string }
  | { kind: 'accessReview' }
  | ResourceRoute;

export type Subresource = 'status' | 'scale';

export interface ResourceRoute {
  kind: 'resource';
  resource: ResourceDefinition;
  /** Set for namespaced paths; unset for cluster-scoped resources and all-namespaces collections. */
  namespace?: string;
  /** Set for object paths; unset for collections. */
  name?: string;
  /** A legacy `/watch/` path: the request is a watch whatever its query says. */
  watch?: true;
  /** `/status` or `/scale` of the object `name`, when the resource serves it. */
  subresource?: Subresource;
}

/** A resource route that names one object (the verbs say which routes these are). */
export type ObjectRoute = ResourceRoute & { name: string };

const SIMPLE: Record<string, Route> = {
  '/': { kind: 'root' },
  '/healthz': { kind: 'healthz' },
  '/livez': { kind: 'livez' },
  '/readyz': { kind: 'readyz' },
  '/version': { kind: 'version' },
  '/metrics': { kind: 'metrics' },
  '/api': { kind: 'api' },
  '/apis': { kind: 'apis' },
  '/openapi/v2': { kind: 'openapiV2' },
  '/openapi/v3': { kind: 'openapiV3' },
};

/** The decoded segments of a raw request path (without its query). */
function pathSegments(rawPath: string): string[] {
  if (!rawPath.startsWith('/')) throw badRequest(`invalid request path: ${JSON.stringify(rawPath.slice(0, 200))}`);
  // One trailing slash is tolerated (`/api/`), as most HTTP routers do; `//` anywhere else is not.
  const path = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
  if (path === '/') return [];
  const segments = path.slice(1).split('/');
  return segments.map((raw) => {
    if (raw === '') throw badRequest('invalid request path: empty path segment');
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      throw badRequest(`invalid request path: bad percent-encoding in ${JSON.stringify(raw.slice(0, 200))}`);
    }
    const problem = pathSegmentError(segment);
    if (problem !== undefined) throw badRequest(`invalid request path: a path segment ${problem}`);
    return segment;
  });
}

export function route(rawPath: string, registry: Registry): Route {
  const simple = SIMPLE[rawPath];
  if (simple !== undefined) return simple;
  const segments = pathSegments(rawPath);
  if (segments.length === 0) return SIMPLE['/']!;
  if (segments.length === 1) {
    const known = SIMPLE[`/${segments[0]}`];
    if (known !== undefined) return known;
    throw pathNotFound();
  }
  if (segments[0] === 'openapi') {
    const known = SIMPLE[`/openapi/${segments.slice(1).join('/')}`];
    if (known !== undefined) return known;
    if (segments[1] === 'v3' && segments[2] === 'api' && segments[3] === 'v1' && segments.length === 4) {
      return { kind: 'openapiV3Spec', group: '', version: 'v1' };
    }
    if (segments[1] === 'v3' && segments[2] === 'apis' && segments.length === 5) {
      return { kind: 'openapiV3Spec', group: segments[3]!, version: segments[4]! };
    }
    throw pathNotFound();
  }
  if (segments[0] === 'api') {
    if (segments[1] !== 'v1') throw pathNotFound();
    if (segments.length === 2) return { kind: 'groupVersion', group: '', version: 'v1' };
    return resourceRoute(registry, '', 'v1', segments.slice(2));
  }
  if (segments[0] === 'apis') {
    const group = segments[1]!;
    if (group === AUTHORIZATION_GROUP) return authorizationRoute(segments);
    if (!registry.groups().has(group)) throw pathNotFound();
    if (segments.length === 2) return { kind: 'group', group };
    const version = segments[2]!;
    if (!registry.groups().get(group)!.includes(version)) throw pathNotFound();
    if (segments.length === 3) return { kind: 'groupVersion', group, version };
    return resourceRoute(registry, group, version, segments.slice(3));
  }
  throw pathNotFound();
}

/** `/apis/authorization.k8s.io[/v1[/selfsubjectaccessreviews]]`: discovery and the review. */
function authorizationRoute(segments: string[]): Route {
  if (segments.length === 2) return { kind: 'group', group: AUTHORIZATION_GROUP };
  if (segments[2] !== AUTHORIZATION_VERSION) throw pathNotFound();
  if (segments.length === 3) return { kind: 'groupVersion', group: AUTHORIZATION_GROUP, version: AUTHORIZATION_VERSION };
  if (segments.length === 4 && segments[3] === ACCESS_REVIEW_PLURAL) return { kind: 'accessReview' };
  throw pathNotFound();
}

/** An object route, or its subresource when the path names one the resource serves. */
function objectRoute(def: ResourceDefinition, namespace: string | undefined, name: string, subresource: string | undefined): ResourceRoute {
  const route: ResourceRoute = namespace === undefined ? { kind: 'resource', resource: def, name } : { kind: 'resource', resource: def, namespace, name };
  if (subresource === undefined) return route;
  if ((subresource === 'status' || subresource === 'scale') && def.subresources?.[subresource] !== undefined) return { ...route, subresource };
  throw pathNotFound();
}

function resourceRoute(registry: Registry, group: string, version: string, rest: string[]): ResourceRoute {
  // No resource is called "watch": kube-apiserver keeps the segment for these paths.
  if (rest[0] === 'watch' && rest.length > 1) return { ...resourceRoute(registry, group, version, rest.slice(1)), watch: true };
  const lookup = (plural: string): ResourceDefinition => {
    const def = registry.lookup(group, version, plural);
    if (def === undefined) throw pathNotFound();
    return def;
  };
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    // namespaces/NS/R[/NAME[/SUBRESOURCE]], or the namespace's own subresource namespaces/NAME/status
    // (no resource is called "status").
    const namespace = rest[1]!;
    const namespaces = group === '' ? registry.lookup('', version, 'namespaces') : undefined;
    if (rest.length === 3 && namespaces !== undefined && registry.lookup(group, version, rest[2]!) === undefined) {
      return objectRoute(namespaces, undefined, namespace, rest[2]);
    }
    const def = lookup(rest[2]!);
    if (!def.namespaced || rest.length > 5) throw pathNotFound();
    if (!isValidName(namespace, 'dns1123-label')) {
      throw badRequest(`invalid namespace ${JSON.stringify(namespace)}: a namespace must be a lowercase RFC 1123 label`);
    }
    return rest.length >= 4 ? objectRoute(def, namespace, rest[3]!, rest[4]) : { kind: 'resource', resource: def, namespace };
  }
  const def = lookup(rest[0]!);
  if (rest.length === 1) return { kind: 'resource', resource: def };
  // R/NAME[/SUBRESOURCE] addresses an object only of a cluster-scoped resource.
  if (rest.length <= 3 && !def.namespaced) return objectRoute(def, undefined, rest[1]!, rest[2]);
  throw pathNotFound();
}
