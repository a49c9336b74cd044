/** SelfSubjectAccessReview (`kubectl auth can-i`), answered from the token policy. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenTable } from '../../src/server/auth.js';
import { call, startTestServer, type TestServer } from './http-helpers.js';

const PATH = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';

function reviewOf(attributes: Record<string, string>): unknown {
  return { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attributes } };
}

describe('SelfSubjectAccessReview with a token file', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ workers: 0, tokens: TokenTable.parse('admin,admin,rw\nviewer,viewer,ro\nteam,team,rw,team-a\n') });
  });
  afterAll(() => t.close());

  const ask = async (token: string, attributes: Record<string, string>): Promise<{ allowed: boolean; reason?: string }> => {
    const r = await call(t.url, PATH, { method: 'POST', headers: { authorization: `Bearer ${token}` }, json: reviewOf(attributes) });
    expect(r.status, r.text).toBe(201);
    expect(r.json).toMatchObject({ kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', spec: { resourceAttributes: attributes } });
    return r.json.status;
  };

  it('answers from the policy: rw may write, ro may only read, a limited token only in its namespaces', async () => {
    expect(await ask('admin', { verb: 'create', resource: 'pods', namespace: 'default' })).toEqual({ allowed: true });
    expect(await ask('admin', { verb: 'delete', resource: 'nodes' })).toEqual({ allowed: true });
    expect(await ask('viewer', { verb: 'list', resource: 'pods', namespace: 'x' })).toEqual({ allowed: true });
    expect(await ask('viewer', { verb: 'create', resource: 'pods', namespace: 'x' })).toEqual({ allowed: false, reason: 'the token is read-only' });
    expect(await ask('viewer', { verb: '*', resource: 'pods', namespace: 'x' })).toMatchObject({ allowed: false });
    expect(await ask('team', { verb: 'update', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'team-a' })).toEqual({ allowed: true });
    expect(await ask('team', { verb: 'get', resource: 'pods', namespace: 'team-b' })).toEqual({ allowed: false, reason: 'the token is not allowed in this namespace' });
    // Nodes are cluster-scoped whatever namespace the review names.
    expect(await ask('team', { verb: 'get', resource: 'nodes', namespace: 'team-a' })).toEqual({ allowed: false, reason: 'the token is limited to namespaces' });
    expect(await ask('admin', { verb: 'escalate', resource: 'pods' })).toMatchObject({ allowed: false });
  });

  it('non-resource paths: the open ones and /metrics may be read', async () => {
    const ask2 = async (path: string, verb: string) =>
      (await call(t.url, PATH, { method: 'POST', headers: { authorization: 'Bearer viewer' }, json: { spec: { nonResourceAttributes: { path, verb } } } })).json.status;
    expect(await ask2('/healthz', 'get')).toEqual({ allowed: true });
    expect(await ask2('/metrics', 'get')).toEqual({ allowed: true });
    expect((await ask2('/healthz', 'post')).allowed).toBe(false);
  });

  it('needs a valid token (401); bad input is 400; only POST (405)', async () => {
    expect((await call(t.url, PATH, { method: 'POST', json: reviewOf({ verb: 'get', resource: 'pods' }) })).status).toBe(401);
    const none = await call(t.url, PATH, { method: 'POST', headers: { authorization: 'Bearer admin' }, json: { spec: {} } });
    expect(none.status).toBe(400);
    const kind = await call(t.url, PATH, { method: 'POST', headers: { authorization: 'Bearer admin' }, json: { kind: 'Pod', spec: {} } });
    expect(kind.status).toBe(400);
    expect((await call(t.url, PATH, { headers: { authorization: 'Bearer admin' } })).status).toBe(405);
  });
});

describe('SelfSubjectAccessReview without a token file', () => {
  it('allows everything, as the server does', async () => {
    const t = await startTestServer({ workers: 0 });
    try {
      const r = await call(t.url, PATH, { method: 'POST', json: reviewOf({ verb: 'delete', resource: 'pods', namespace: 'x' }) });
      expect(r.status).toBe(201);
      expect(r.json.status).toEqual({ allowed: true });
    } finally {
      await t.close();
    }
  });
});
