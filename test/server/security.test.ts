/** Bearer tokens (401/403), the watcher limit (429), TLS, and the metrics seam. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenTable } from '../../src/server/auth.js';
import type { ServerMetrics } from '../../src/server/metrics.js';
import { call, eventually, openWatch, podBody, startTestServer, type TestServer } from './http-helpers.js';

const TOKENS = `
# token,user,access[,namespaces]
admin-token,admin,rw
reader-token,reader,ro
team-token,team,rw,team-a;team-b
team-ro-token,team-ro,ro,team-a
`;

describe('bearer tokens', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ workers: 0, tokens: TokenTable.parse(TOKENS) });
  });
  afterAll(() => t.close());

  const as = (token: string | undefined, path: string, init: Parameters<typeof call>[2] = {}): ReturnType<typeof call> =>
    call(t.url, path, { ...init, headers: { ...(init.headers as Record<string, string>), ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) } });

  it('no token, an unknown token or another scheme: 401 Unauthorized with WWW-Authenticate', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: 'Basic YWRtaW46YWRtaW4=' }, { authorization: 'Bearer' }]) {
      const r = await call(t.url, '/api/v1/pods', { headers });
      expect(r.status).toBe(401);
      expect(r.json).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    expect((await call(t.url, '/api/v1/namespaces/default/pods/x?watch=1')).status).toBe(401);
  });

  it('an unlimited read-write token reads and writes everywhere', async () => {
    expect((await as('admin-token', '/api/v1/namespaces/default/pods', { method: 'POST', json: podBody('by-admin') })).status).toBe(201);
    expect((await as('admin-token', '/api/v1/pods')).status).toBe(200);
    expect((await as('admin-token', '/api/v1/nodes')).status).toBe(200);
  });

  it('a read-only token reads and watches; its writes are 403 Forbidden', async () => {
    expect((await as('reader-token', '/api/v1/pods')).status).toBe(200);
    const w = await openWatch(t.url, '/api/v1/pods?watch=1&timeoutSeconds=1', { headers: { authorization: 'Bearer reader-token' } });
    expect(w.status).toBe(200);
    w.close();
    const writes: Array<[string, string, unknown]> = [
      ['POST', '/api/v1/namespaces/default/pods', podBody('by-reader')],
      ['PUT', '/api/v1/namespaces/default/pods/by-admin', podBody('by-admin')],
      ['DELETE', '/api/v1/namespaces/default/pods/by-admin', undefined],
    ];
    for (const [method, path, json] of writes) {
      const r = await as('reader-token', path, { method, ...(json === undefined ? {} : { json }) });
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.json).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
      expect(r.json.message).toContain('User "reader" cannot');
    }
    const patch = await as('reader-token', '/api/v1/namespaces/default/pods/by-admin', {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: '{}',
    });
    expect(patch.status).toBe(403);
  });

  it('a namespace-limited token works inside its namespaces only', async () => {
    expect((await as('team-token', '/api/v1/namespaces/team-a/pods', { method: 'POST', json: podBody('mine') })).status).toBe(201);
    expect((await as('team-token', '/api/v1/namespaces/team-b/pods')).status).toBe(200);
    expect((await as('team-token', '/api/v1/namespaces/team-a/pods/mine')).status).toBe(200);
    const outside = await as('team-token', '/api/v1/namespaces/default/pods');
    expect(outside.status).toBe(403);
    expect(outside.json.message).toContain('in the namespace "default"');
    expect((await as('team-token', '/api/v1/namespaces/default/pods', { method: 'POST', json: podBody('theirs') })).status).toBe(403);
  });

  it('cluster-wide lists and watches, and cluster-scoped resources, need an unlimited token', async () => {
    const list = await as('team-token', '/api/v1/pods');
    expect(list.status).toBe(403);
    expect(list.json.message).toContain('at the cluster scope');
    expect((await as('team-token', '/api/v1/pods?watch=true')).status).toBe(403);
    expect((await as('team-token', '/api/v1/nodes')).status).toBe(403);
    expect((await as('team-token', '/api/v1/namespaces/team-a')).status).toBe(403);
  });

  it('a limited read-only token cannot write even in its namespace', async () => {
    expect((await as('team-ro-token', '/api/v1/namespaces/team-a/pods')).status).toBe(200);
    expect((await as('team-ro-token', '/api/v1/namespaces/team-a/pods', { method: 'POST', json: podBody('nope') })).status).toBe(403);
  });

  it('the token file format is checked line by line', () => {
    expect(() => TokenTable.parse('t1,user\n')).toThrow(/token file:1: expected TOKEN,USER,ro\|rw/);
    expect(() => TokenTable.parse('\nt1,user,admin\n')).toThrow(/token file:2: access must be "ro" or "rw"/);
    expect(() => TokenTable.parse('t1,user,rw,Bad_NS\n')).toThrow(/not a valid namespace/);
    expect(() => TokenTable.parse('t1,a,rw\nt1,b,ro\n')).toThrow(/listed twice/);
    expect(() => TokenTable.parse('t 1,a,rw\n')).toThrow(/whitespace/);
    expect(TokenTable.parse(TOKENS).size).toBe(4);
  });
});

describe('limits', () => {
  it('beyond maxWatchers a watch is refused with 429 TooManyRequests and Retry-After', async () => {
    const t = await startTestServer({ workers: 0, limits: { maxWatchers: 2 } });
    try {
      const a = await openWatch(t.url, '/api/v1/pods?watch=1');
      const b = await openWatch(t.url, '/api/v1/pods?watch=1');
      const refused = await call(t.url, '/api/v1/pods?watch=1');
      expect(refused.status).toBe(429);
      expect(refused.json).toMatchObject({ kind: 'Status', reason: 'TooManyRequests', code: 429, details: { retryAfterSeconds: 1 } });
      expect(refused.headers.get('retry-after')).toBe('1');
      // Lists are not watches: still served.
      expect((await call(t.url, '/api/v1/pods')).status).toBe(200);
      a.close();
      await eventually('a slot to free up', () => t.server.watchers < 2);
      const c = await openWatch(t.url, '/api/v1/pods?watch=1');
      expect(c.status).toBe(200);
      b.close();
      c.close();
    } finally {
      await t.close();
    }
  });

  it('binds 127.0.0.1 by default', async () => {
    const t = await startTestServer({ workers: 0 });
    try {
      expect(new URL(t.url).hostname).toBe('127.0.0.1');
    } finally {
      await t.close();
    }
  });
});

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!haveOpenssl())('TLS (self-signed certificate made with openssl at test time)', () => {
  let dir: string;
  let cert: Buffer;
  let t: TestServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'watchcache-tls-'));
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
      { stdio: 'ignore' },
    );
    cert = readFileSync(join(dir, 'cert.pem'));
    t = await startTestServer({ workers: 0, tls: { cert, key: readFileSync(join(dir, 'key.pem')) } });
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves https; lists, writes and watches work over it', async () => {
    expect(t.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const list = await openWatch(t.url, '/api/v1/pods', { ca: cert });
    await list.untilEnded();
    expect(list.status).toBe(200);
    const w = await openWatch(t.url, '/api/v1/pods?watch=1', { ca: cert });
    expect(w.status).toBe(200);
    const created = await new Promise<number>((resolve, reject) => {
      const body = JSON.stringify(podBody('over-tls'));
      const req = httpsRequest(`${t.url}/api/v1/namespaces/default/pods`, { method: 'POST', ca: cert, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(created).toBe(201);
    await w.untilEvents(1);
    expect(w.summary()).toEqual(['ADDED over-tls']);
    w.close();
  });

  it('an untrusted client cannot connect; plain http to the TLS port gets no API answer', async () => {
    await expect(openWatch(t.url, '/api/v1/pods')).rejects.toThrow(/self[- ]signed|certificate/i);
    await expect(fetch(t.url.replace('https:', 'http:') + '/api/v1/pods').then((r) => r.status)).rejects.toThrow();
  });
});

describe('metrics seam', () => {
  it('reports requests and watches, routes /metrics (behind auth when tokens are on) and attaches the caches', async () => {
    const requests: Array<[string, string, number]> = [];
    const watches: string[] = [];
    let attached: string[] = [];
    const metrics: ServerMetrics = {
      onRequest: (verb, resource, code, seconds) => {
        expect(seconds).toBeGreaterThanOrEqual(0);
        requests.push([verb, resource, code]);
      },
      onWatchStart: (resource) => watches.push(`start ${resource}`),
      onWatchEnd: (resource, reason) => watches.push(`end ${resource} ${reason}`),
      attach: (caches) => (attached = caches.map((c) => c.resource.plural)),
      handle: (_req, res) => {
        res.setHeader('content-type', 'text/plain');
        res.end('watchcache_up 1\n');
      },
    };
    const t = await startTestServer({ workers: 0, metrics, tokens: TokenTable.parse('m-token,prom,ro\nw-token,writer,rw\n') });
    try {
      expect(attached).toContain('pods');
      expect((await call(t.url, '/metrics')).status).toBe(401);
      const scraped = await call(t.url, '/metrics', { headers: { authorization: 'Bearer m-token' } });
      expect(scraped).toMatchObject({ status: 200, text: 'watchcache_up 1\n' });
      const auth = { authorization: 'Bearer w-token' };
      await call(t.url, '/api/v1/namespaces/default/pods', { method: 'POST', json: podBody('m'), headers: auth });
      await call(t.url, '/api/v1/pods', { headers: auth });
      await call(t.url, '/api/v1/namespaces/default/pods/m', { headers: auth });
      const w = await openWatch(t.url, '/api/v1/pods?watch=1&timeoutSeconds=1', { headers: auth });
      await w.untilEnded();
      await eventually('the watch to be reported', () => requests.some(([verb]) => verb === 'WATCH'));
      expect(requests).toEqual(
        expect.arrayContaining([
          ['CREATE', 'pods', 201],
          ['LIST', 'pods', 200],
          ['GET', 'pods', 200],
          ['WATCH', 'pods', 200],
          ['GET', '', 401],
        ]),
      );
      expect(watches).toEqual(['start pods', 'end pods server']);
    } finally {
      await t.close();
    }
  });
});
