/**
 * Bad input, table-driven: every case gets its Kubernetes Status with the right code and reason,
 * and after every case the server is still healthy and still lists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createPod, POD_SPEC, rawRequest, startTestServer, type TestServer } from './http-helpers.js';

interface Case {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  code: number;
  reason: string | undefined;
}

const JSON_HEADERS = { 'content-type': 'application/json' };
const pod = (metadata: unknown, spec: unknown = POD_SPEC): string => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata, spec });
/** A valid pod spec of more than 1.5 MiB (its size is all in a container's argument). */
const bigSpec = { containers: [{ ...POD_SPEC.containers[0], args: ['x'.repeat(1_600_000)] }] };
const PODS = '/api/v1/namespaces/default/pods';
const nested = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
const JSON_PATCH_HEADERS = { 'content-type': 'application/json-patch+json' };
const MERGE_PATCH_HEADERS = { 'content-type': 'application/merge-patch+json' };
const HEALTHY = `${PODS}/healthy`;
/** A JSON patch that gives the pod an empty list, then copies the list into itself `n` times. */
const copyBomb = (n: number): string =>
  JSON.stringify([{ op: 'add', path: '/spec', value: { b: [] } }, ...Array.from({ length: n }, () => ({ op: 'copy', from: '/spec/b', path: '/spec/b/-' }))]);
/** A JSON patch that hangs a 900-deep chain under the previous one `n` times. */
const deepAdds = (n: number): string => {
  const chain = '{"a":'.repeat(899) + '{}' + '}'.repeat(899);
  const ops = [`{"op":"add","path":"/spec","value":{"d":${chain}}}`];
  for (let i = 1; i < n; i++) ops.push(`{"op":"add","path":"/spec/d${'/a'.repeat(900 * i - 1)}/a","value":${chain}}`);
  return `[${ops.join(',')}]`;
};

const cases: Case[] = [
  // Selectors and read options.
  { name: 'malformed label selector', method: 'GET', path: `${PODS}?labelSelector=a%20in%20(`, code: 400, reason: 'BadRequest' },
  { name: 'label selector with a bad key', method: 'GET', path: `/api/v1/pods?labelSelector=-bad%3Dx`, code: 400, reason: 'BadRequest' },
  { name: 'malformed field selector', method: 'GET', path: `${PODS}?fieldSelector=spec.nodeName`, code: 400, reason: 'BadRequest' },
  { name: 'field selector on an unselectable field', method: 'GET', path: `${PODS}?fieldSelector=spec.foo%3Dx`, code: 400, reason: 'BadRequest' },
  { name: 'watch with a malformed selector', method: 'GET', path: `/api/v1/pods?watch=1&labelSelector=%3D%3D`, code: 400, reason: 'BadRequest' },
  { name: 'resourceVersion that is not a number', method: 'GET', path: `${PODS}?resourceVersion=abc`, code: 400, reason: 'BadRequest' },
  { name: 'negative resourceVersion', method: 'GET', path: `${PODS}?resourceVersion=-1`, code: 400, reason: 'BadRequest' },
  { name: 'huge resourceVersion', method: 'GET', path: `${PODS}?resourceVersion=99999999999999999999999`, code: 400, reason: 'BadRequest' },
  { name: 'watch with a bad resourceVersion', method: 'GET', path: `${PODS}?watch=true&resourceVersion=1.5`, code: 400, reason: 'BadRequest' },
  { name: 'GET with a bad resourceVersion', method: 'GET', path: `${PODS}/x?resourceVersion=x`, code: 400, reason: 'BadRequest' },
  { name: 'resourceVersion with continue', method: 'GET', path: `${PODS}?resourceVersion=5&continue=abc`, code: 400, reason: 'BadRequest' },
  { name: 'a continue token that is not one', method: 'GET', path: `${PODS}?continue=%25%25garbage`, code: 400, reason: 'BadRequest' },
  { name: 'unknown resourceVersionMatch', method: 'GET', path: `${PODS}?resourceVersion=1&resourceVersionMatch=Sometimes`, code: 400, reason: 'BadRequest' },
  { name: 'resourceVersionMatch=Exact without resourceVersion', method: 'GET', path: `${PODS}?resourceVersionMatch=Exact`, code: 400, reason: 'BadRequest' },
  { name: 'watch with resourceVersionMatch but no sendInitialEvents', method: 'GET', path: `${PODS}?watch=1&resourceVersionMatch=NotOlderThan`, code: 400, reason: 'BadRequest' },
  // A resourceVersion the store has not reached (e.g. from before the embedded store restarted):
  // 504 after the 3 s freshness wait; a watch ends with an in-band ERROR (test/server/restart.test.ts).
  { name: 'LIST not older than a resourceVersion the store has not reached', method: 'GET', path: `${PODS}?resourceVersion=1000000&resourceVersionMatch=NotOlderThan`, code: 504, reason: 'Timeout' },
  { name: 'GET at a resourceVersion the store has not reached', method: 'GET', path: `${HEALTHY}?resourceVersion=1000000`, code: 504, reason: 'Timeout' },
  { name: 'WATCH from a resourceVersion the store has not reached (ends with an in-band ERROR)', method: 'GET', path: `${PODS}?watch=true&resourceVersion=1000000`, code: 200, reason: undefined },
  { name: 'limit that is not a number', method: 'GET', path: `${PODS}?limit=ten`, code: 400, reason: 'BadRequest' },
  { name: 'negative limit', method: 'GET', path: `${PODS}?limit=-3`, code: 400, reason: 'BadRequest' },
  { name: 'limit at int64 max (kube answers 200)', method: 'GET', path: `${PODS}?limit=9223372036854775807`, code: 200, reason: undefined },
  { name: 'limit past int64 max', method: 'GET', path: `${PODS}?limit=9223372036854775808`, code: 400, reason: 'BadRequest' },
  { name: 'negative limit at int64 min', method: 'GET', path: `${PODS}?limit=-9223372036854775808`, code: 400, reason: 'BadRequest' },
  { name: 'limit with a fraction', method: 'GET', path: `${PODS}?limit=1.5`, code: 400, reason: 'BadRequest' },
  { name: 'watch=maybe', method: 'GET', path: `${PODS}?watch=maybe`, code: 400, reason: 'BadRequest' },
  { name: 'timeoutSeconds that is not a number', method: 'GET', path: `${PODS}?watch=1&timeoutSeconds=soon`, code: 400, reason: 'BadRequest' },
  { name: 'negative timeoutSeconds', method: 'GET', path: `${PODS}?watch=1&timeoutSeconds=-5`, code: 400, reason: 'BadRequest' },
  { name: 'sendInitialEvents=perhaps', method: 'GET', path: `${PODS}?watch=1&sendInitialEvents=perhaps&resourceVersionMatch=NotOlderThan`, code: 400, reason: 'BadRequest' },
  { name: 'an Accept type not served', method: 'GET', path: PODS, headers: { accept: 'application/yaml' }, code: 406, reason: 'NotAcceptable' },
  { name: 'a protobuf Table (Tables are JSON only)', method: 'GET', path: PODS, headers: { accept: 'application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io' }, code: 406, reason: 'NotAcceptable' },
  { name: 'msgpack for a LIST (only watches speak msgpack)', method: 'GET', path: PODS, headers: { accept: 'application/vnd.msgpack' }, code: 406, reason: 'NotAcceptable' },

  // Unknown resources and paths.
  { name: 'unknown core resource', method: 'GET', path: '/api/v1/foos', code: 404, reason: 'NotFound' },
  { name: 'unknown namespaced resource', method: 'GET', path: '/api/v1/namespaces/default/foos', code: 404, reason: 'NotFound' },
  { name: 'unknown group', method: 'GET', path: '/apis/nope.io/v1/things', code: 404, reason: 'NotFound' },
  { name: 'unknown core version', method: 'GET', path: '/api/v2/pods', code: 404, reason: 'NotFound' },
  { name: 'unknown top-level path', method: 'GET', path: '/foo/bar', code: 404, reason: 'NotFound' },
  { name: 'a subresource', method: 'GET', path: `${PODS}/x/status`, code: 404, reason: 'NotFound' },
  { name: 'a cluster-scoped resource under a namespace', method: 'GET', path: '/api/v1/namespaces/default/nodes', code: 404, reason: 'NotFound' },
  { name: 'a namespaced resource by name without namespace', method: 'GET', path: '/api/v1/pods/x', code: 404, reason: 'NotFound' },

  // Path tricks.
  { name: 'dot-dot as the name', method: 'GET', path: `${PODS}/..`, code: 400, reason: 'BadRequest' },
  { name: 'dot-dot as the namespace', method: 'GET', path: '/api/v1/namespaces/../pods', code: 400, reason: 'BadRequest' },
  { name: 'encoded dot-dot', method: 'GET', path: `${PODS}/%2E%2E`, code: 400, reason: 'BadRequest' },
  { name: 'dot-dot in the middle', method: 'GET', path: '/api/v1/namespaces/default/../../pods', code: 400, reason: 'BadRequest' },
  { name: 'encoded slash in a name', method: 'GET', path: `${PODS}/a%2Fb`, code: 400, reason: 'BadRequest' },
  { name: 'encoded slash deleting across keys', method: 'DELETE', path: `${PODS}/a%2F..%2Fb`, code: 400, reason: 'BadRequest' },
  { name: 'double slash', method: 'GET', path: '/api//v1/pods', code: 400, reason: 'BadRequest' },
  { name: 'encoded NUL', method: 'GET', path: `${PODS}/a%00b`, code: 400, reason: 'BadRequest' },
  { name: 'encoded percent', method: 'GET', path: `${PODS}/a%25b`, code: 400, reason: 'BadRequest' },
  { name: 'broken percent-encoding', method: 'GET', path: '/api/v1/namespaces/de%ZZfault/pods', code: 400, reason: 'BadRequest' },
  { name: 'namespace that is not a DNS label', method: 'GET', path: '/api/v1/namespaces/Bad_NS/pods', code: 400, reason: 'BadRequest' },
  { name: 'asterisk-form request target', method: 'OPTIONS', path: '*', code: 400, reason: 'BadRequest' },

  // Methods.
  { name: 'PUT on a collection', method: 'PUT', path: PODS, headers: JSON_HEADERS, body: '{}', code: 405, reason: 'MethodNotAllowed' },
  { name: 'DELETE across all namespaces', method: 'DELETE', path: '/api/v1/pods', code: 405, reason: 'MethodNotAllowed' },
  { name: 'POST on a subresource', method: 'POST', path: `${PODS}/x/status`, headers: JSON_HEADERS, body: '{}', code: 405, reason: 'MethodNotAllowed' },
  { name: 'a subresource the resource does not serve', method: 'GET', path: '/api/v1/namespaces/default/configmaps/x/status', code: 404, reason: 'NotFound' },
  { name: 'a watch of a subresource', method: 'GET', path: '/api/v1/watch/namespaces/default/pods/x/status', code: 404, reason: 'NotFound' },
  { name: 'POST on an object', method: 'POST', path: `${PODS}/x`, headers: JSON_HEADERS, body: '{}', code: 405, reason: 'MethodNotAllowed' },
  { name: 'POST across all namespaces', method: 'POST', path: '/api/v1/pods', headers: JSON_HEADERS, body: pod({ name: 'x' }), code: 405, reason: 'MethodNotAllowed' },
  { name: 'POST /healthz', method: 'POST', path: '/healthz', code: 405, reason: 'MethodNotAllowed' },
  { name: 'DELETE /api', method: 'DELETE', path: '/api', code: 405, reason: 'MethodNotAllowed' },
  { name: 'PROPFIND on a collection', method: 'PROPFIND', path: PODS, code: 405, reason: 'MethodNotAllowed' },

  // Bodies.
  { name: 'invalid JSON', method: 'POST', path: PODS, headers: JSON_HEADERS, body: '{"metadata": {', code: 400, reason: 'BadRequest' },
  { name: 'empty body', method: 'POST', path: PODS, headers: JSON_HEADERS, body: '', code: 400, reason: 'BadRequest' },
  { name: 'a JSON array', method: 'POST', path: PODS, headers: JSON_HEADERS, body: '[1,2]', code: 400, reason: 'BadRequest' },
  { name: 'a JSON string', method: 'POST', path: PODS, headers: JSON_HEADERS, body: '"pod"', code: 400, reason: 'BadRequest' },
  { name: 'JSON nested too deep', method: 'POST', path: PODS, headers: JSON_HEADERS, body: nested(5000), code: 422, reason: 'Invalid' },
  { name: 'metadata that is not an object', method: 'POST', path: PODS, headers: JSON_HEADERS, body: '{"metadata":"x"}', code: 400, reason: 'BadRequest' },
  { name: 'a name that is not a string', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({ name: 7 }), code: 400, reason: 'BadRequest' },
  { name: 'labels that are not strings', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({ name: 'x', labels: { a: 1 } }), code: 400, reason: 'BadRequest' },
  { name: 'wrong kind', method: 'POST', path: PODS, headers: JSON_HEADERS, body: JSON.stringify({ kind: 'Node', metadata: { name: 'x' } }), code: 400, reason: 'BadRequest' },
  { name: 'wrong apiVersion', method: 'POST', path: PODS, headers: JSON_HEADERS, body: JSON.stringify({ apiVersion: 'apps/v1', metadata: { name: 'x' } }), code: 400, reason: 'BadRequest' },
  { name: 'body namespace differs from the path', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({ name: 'x', namespace: 'other' }), code: 400, reason: 'BadRequest' },
  { name: 'text/plain body', method: 'POST', path: PODS, headers: { 'content-type': 'text/plain' }, body: pod({ name: 'x' }), code: 415, reason: 'UnsupportedMediaType' },
  { name: 'YAML body', method: 'POST', path: PODS, headers: { 'content-type': 'application/yaml' }, body: 'metadata: {name: x}', code: 415, reason: 'UnsupportedMediaType' },
  { name: 'a protobuf body cut inside its magic', method: 'PUT', path: `${PODS}/x`, headers: { 'content-type': 'application/vnd.kubernetes.protobuf' }, body: 'k8s', code: 400, reason: 'BadRequest' },
  { name: 'server-side apply without a fieldManager', method: 'PATCH', path: `${PODS}/x`, headers: { 'content-type': 'application/apply-patch+yaml' }, body: 'metadata: {}', code: 422, reason: 'Invalid' },
  { name: 'server-side apply of a YAML alias bomb', method: 'PATCH', path: `${PODS}/x?fieldManager=m`, headers: { 'content-type': 'application/apply-patch+yaml' }, body: ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 12 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n'), code: 400, reason: 'BadRequest' },
  { name: 'server-side apply nested past the limit', method: 'PATCH', path: `${PODS}/x?fieldManager=m`, headers: { 'content-type': 'application/apply-patch+yaml' }, body: `spec: ${'['.repeat(20_000)}${']'.repeat(20_000)}`, code: 400, reason: 'BadRequest' },
  { name: 'a force on a patch that is not an apply', method: 'PATCH', path: `${PODS}/x?force=true`, headers: { 'content-type': 'application/merge-patch+json' }, body: '{}', code: 422, reason: 'Invalid' },
  { name: 'PATCH without a content type', method: 'PATCH', path: `${PODS}/x`, body: '{}', code: 415, reason: 'UnsupportedMediaType' },
  { name: 'a merge patch that is not an object', method: 'PATCH', path: `${PODS}/x`, headers: { 'content-type': 'application/merge-patch+json' }, body: '[]', code: 400, reason: 'BadRequest' },
  { name: 'a JSON patch that is not an array', method: 'PATCH', path: `${PODS}/x`, headers: { 'content-type': 'application/json-patch+json' }, body: '{}', code: 400, reason: 'BadRequest' },
  { name: 'a merge patch nested too deep', method: 'PATCH', path: HEALTHY, headers: MERGE_PATCH_HEADERS, body: nested(5000), code: 422, reason: 'Invalid' },

  // Patches and objects that would outgrow the limits (CVE-2019-1002100); 'healthy' stays as it was.
  { name: 'a JSON patch copy bomb (36 copies)', method: 'PATCH', path: HEALTHY, headers: JSON_PATCH_HEADERS, body: copyBomb(36), code: 413, reason: 'RequestEntityTooLarge' },
  { name: 'a JSON patch copy bomb (22 copies, 10 MB)', method: 'PATCH', path: HEALTHY, headers: JSON_PATCH_HEADERS, body: copyBomb(22), code: 413, reason: 'RequestEntityTooLarge' },
  { name: 'a JSON patch building an object 18 000 levels deep', method: 'PATCH', path: HEALTHY, headers: JSON_PATCH_HEADERS, body: deepAdds(20), code: 422, reason: 'Invalid' },
  { name: 'a JSON patch of 10 001 operations', method: 'PATCH', path: HEALTHY, headers: JSON_PATCH_HEADERS, body: JSON.stringify(Array.from({ length: 10_001 }, () => ({ op: 'test', path: '/kind', value: 'Pod' }))), code: 413, reason: 'RequestEntityTooLarge' },
  { name: 'a merge patch making the object larger than 1.5 MiB', method: 'PATCH', path: HEALTHY, headers: MERGE_PATCH_HEADERS, body: JSON.stringify({ spec: bigSpec }), code: 413, reason: 'RequestEntityTooLarge' },
  { name: 'a strategic merge patch making the object larger than 1.5 MiB', method: 'PATCH', path: HEALTHY, headers: { 'content-type': 'application/strategic-merge-patch+json' }, body: JSON.stringify({ spec: bigSpec }), code: 413, reason: 'RequestEntityTooLarge' },
  { name: 'a strategic merge patch nested too deep', method: 'PATCH', path: HEALTHY, headers: { 'content-type': 'application/strategic-merge-patch+json' }, body: nested(5000), code: 422, reason: 'Invalid' },
  { name: 'a JSON patch whose copies double the nesting past 1000 levels', method: 'PATCH', path: HEALTHY, headers: JSON_PATCH_HEADERS, body: JSON.stringify([{ op: 'add', path: '/spec/d', value: {} }, ...Array.from({ length: 14 }, (_, k) => ({ op: 'copy', from: '/spec/d', path: '/spec/d' + '/a'.repeat(2 ** k) }))]), code: 422, reason: 'Invalid' },
  { name: 'a create larger than 1.5 MiB', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({ name: 'big' }, bigSpec), code: 413, reason: 'RequestEntityTooLarge' },
  { name: 'an update larger than 1.5 MiB', method: 'PUT', path: HEALTHY, headers: JSON_HEADERS, body: pod({ name: 'healthy' }, bigSpec), code: 413, reason: 'RequestEntityTooLarge' },
  { name: 'an oversize body (limit 3 MiB)', method: 'POST', path: PODS, headers: JSON_HEADERS, body: Buffer.alloc(4 * 1024 * 1024, 0x20), code: 413, reason: 'RequestEntityTooLarge' },
  { name: 'a name that is not DNS-1123', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({ name: 'Has_Upper.Case' }), code: 422, reason: 'Invalid' },
  { name: 'a name longer than 253', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({ name: 'a'.repeat(254) }), code: 422, reason: 'Invalid' },
  { name: 'a name with a slash', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({ name: 'a/b' }), code: 422, reason: 'Invalid' },
  { name: 'a generateName that makes a bad name', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({ generateName: 'BAD-' }), code: 422, reason: 'Invalid' },
  { name: 'no name at all', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({}), code: 422, reason: 'Invalid' },
  { name: 'a service name that is not a DNS-1035 label', method: 'POST', path: '/api/v1/namespaces/default/services', headers: JSON_HEADERS, body: JSON.stringify({ metadata: { name: '1web' } }), code: 422, reason: 'Invalid' },
  { name: 'a namespace name with dots', method: 'POST', path: '/api/v1/namespaces', headers: JSON_HEADERS, body: JSON.stringify({ metadata: { name: 'a.b' } }), code: 422, reason: 'Invalid' },

  // Metadata, validated as kube-apiserver does (test/server/metadata-validation.test.ts pins the messages).
  { name: 'a label key with a space', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({ name: 'x', labels: { 'a b': 'v' } }), code: 422, reason: 'Invalid' },
  { name: 'a label key with two slashes', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({ name: 'x', labels: { 'a/b/c': 'v' } }), code: 422, reason: 'Invalid' },
  { name: 'a label key whose name part is 64 characters', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({ name: 'x', labels: { ['k'.repeat(64)]: 'v' } }), code: 422, reason: 'Invalid' },
  { name: 'a 64-character label value', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({ name: 'x', labels: { a: 'v'.repeat(64) } }), code: 422, reason: 'Invalid' },
  { name: 'a label value containing /', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({ name: 'x', labels: { a: 'b/c' } }), code: 422, reason: 'Invalid' },
  { name: 'an annotation key that is not a qualified name', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({ name: 'x', annotations: { 'not ok': 'v' } }), code: 422, reason: 'Invalid' },
  { name: '300 KiB of annotations (limit 256 KiB)', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({ name: 'x', annotations: { a: 'x'.repeat(300 * 1024) } }), code: 422, reason: 'Invalid' },
  { name: 'a generateName with an underscore', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({ generateName: 'web_' }), code: 422, reason: 'Invalid' },
  { name: 'a merge patch adding a bad label', method: 'PATCH', path: `${PODS}/healthy`, headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ metadata: { labels: { a: 'b/c' } } }), code: 422, reason: 'Invalid' },
  { name: 'an update with a bad label', method: 'PUT', path: `${PODS}/healthy`, headers: JSON_HEADERS, body: pod({ name: 'healthy', labels: { 'a b': 'c' } }), code: 422, reason: 'Invalid' },
  { name: 'a strategic merge patch adding a 64-character label value', method: 'PATCH', path: HEALTHY, headers: { 'content-type': 'application/strategic-merge-patch+json' }, body: JSON.stringify({ metadata: { labels: { a: 'v'.repeat(64) } } }), code: 422, reason: 'Invalid' },
  { name: 'a JSON patch adding an annotation key with a space', method: 'PATCH', path: HEALTHY, headers: JSON_PATCH_HEADERS, body: JSON.stringify([{ op: 'add', path: '/metadata/annotations', value: { 'a b': 'c' } }]), code: 422, reason: 'Invalid' },
  { name: 'update with a resourceVersion that is not one', method: 'PUT', path: `${PODS}/x`, headers: JSON_HEADERS, body: pod({ name: 'x', resourceVersion: 'abc' }), code: 400, reason: 'BadRequest' },
  { name: 'dryRun other than All (must not write)', method: 'POST', path: `${PODS}?dryRun=Some`, headers: JSON_HEADERS, body: pod({ name: 'dry' }), code: 422, reason: 'Invalid' },
  // Schema validation (schema-validation.ts): kube's 400 for decoding, 422 for field errors.
  { name: 'a pod without containers', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({ name: 'x' }, { containers: [] }), code: 422, reason: 'Invalid' },
  { name: 'a pod without spec', method: 'POST', path: PODS, headers: JSON_HEADERS, body: JSON.stringify({ metadata: { name: 'x' } }), code: 422, reason: 'Invalid' },
  { name: 'a container without image', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({ name: 'x' }, { containers: [{ name: 'app' }] }), code: 422, reason: 'Invalid' },
  { name: 'a restartPolicy outside its enum', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({ name: 'x' }, { ...POD_SPEC, restartPolicy: 'Sometimes' }), code: 422, reason: 'Invalid' },
  { name: 'a string where the schema has a list', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({ name: 'x' }, { containers: 'app' }), code: 400, reason: 'BadRequest' },
  { name: 'a label value that is a number', method: 'POST', path: PODS, headers: JSON_HEADERS, body: pod({ name: 'x', labels: { a: 1 } }), code: 400, reason: 'BadRequest' },
  { name: 'an unknown field under fieldValidation=Strict', method: 'POST', path: `${PODS}?fieldValidation=Strict`, headers: JSON_HEADERS, body: pod({ name: 'x' }, { ...POD_SPEC, foo: 1 }), code: 400, reason: 'BadRequest' },
  { name: 'a fieldValidation that is none of Ignore, Warn, Strict', method: 'POST', path: `${PODS}?fieldValidation=Lax`, headers: JSON_HEADERS, body: pod({ name: 'x' }), code: 422, reason: 'Invalid' },
  { name: 'a merge patch removing the containers', method: 'PATCH', path: HEALTHY, headers: MERGE_PATCH_HEADERS, body: JSON.stringify({ spec: { containers: null } }), code: 422, reason: 'Invalid' },
  { name: 'a JSON patch giving a container a numeric image', method: 'PATCH', path: HEALTHY, headers: JSON_PATCH_HEADERS, body: JSON.stringify([{ op: 'replace', path: '/spec/containers/0/image', value: 7 }]), code: 400, reason: 'BadRequest' },
  { name: 'DeleteOptions that are not JSON', method: 'DELETE', path: `${PODS}/x`, headers: JSON_HEADERS, body: 'nope', code: 400, reason: 'BadRequest' },
];

describe('bad input never crashes or hangs the server', () => {
  let t: TestServer;
  let healthyRevision: number;
  beforeAll(async () => {
    t = await startTestServer({ workers: 0 });
    healthyRevision = await createPod(t.url, 'healthy');
  });
  afterAll(() => t.close());

  it.each(cases)('$name → $code $reason', async (c) => {
    const headers = { ...c.headers };
    const reply = await rawRequest(t.url, c.method, c.path, headers, c.body);
    expect(reply.status, reply.text.slice(0, 300)).toBe(c.code);
    if (c.reason !== undefined) {
      expect(reply.headers['content-type']).toBe('application/json');
      expect(reply.json).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: c.code, reason: c.reason });
      expect(typeof reply.json.message).toBe('string');
    }
    if (c.code === 405) expect(reply.headers.allow).toEqual(expect.any(String));

    // Still healthy, still serving.
    expect((await call(t.url, '/healthz')).status).toBe(200);
    const list = await call(t.url, '/api/v1/namespaces/default/pods');
    expect(list.status).toBe(200);
    expect(list.json.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['healthy']);
  });

  it('nothing bad was written', async () => {
    const { items } = await t.storage.list('/registry/');
    expect(items.map((kv) => kv.key)).toEqual(['/registry/pods/default/healthy']);
    // No patch or update above changed it.
    expect(items[0]!.modRevision).toBe(healthyRevision);
  });
});
