/**
 * kubectl's write paths against the built `watchcache serve`, for every kubectl from 1.27 to
 * 1.33 found in /usr/lib/google-cloud-sdk/bin (kubectl.1.27 ... kubectl.1.33; a version that is
 * absent is left out and named in the log), on the embedded store and on a real etcd: create a
 * deployment by generator, get it, scale it, patch its status, server-side dry runs, diff, delete
 * by label, auth can-i. Versions run one after another, each in its own namespace.
 *
 * The server runs with a token file and TLS (a self-signed certificate made with openssl at test
 * time): kubectl sends bearer tokens over HTTPS only.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdHandle } from '../helpers/etcd.js';
import { executable, servingUrl, startChild as start, type Child } from '../helpers/child.js';
import { bounded, POD_SPEC } from '../server/http-helpers.js';
import { kubectlEnv } from '../helpers/kubeconfig.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli.js');
const BIN = '/usr/lib/google-cloud-sdk/bin';
const WANTED = ['1.27', '1.28', '1.29', '1.30', '1.31', '1.32', '1.33'];


const VERSIONS = WANTED.filter((v) => executable(join(BIN, `kubectl.${v}`)));
const ABSENT = WANTED.filter((v) => !VERSIONS.includes(v));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}



const TOKENS = 'admin-token,admin,rw\nviewer-token,viewer,ro\n';

interface Reply {
  status: number;
  json: any;
}

/** One HTTPS request as the admin, trusting `ca`; the body (if any) as JSON. */
function adminCall(url: string, ca: Buffer, path: string, init: { method?: string; json?: unknown } = {}): Promise<Reply> {
  const body = init.json === undefined ? undefined : JSON.stringify(init.json);
  const headers: Record<string, string> = { authorization: 'Bearer admin-token' };
  if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url + path, { method: init.method ?? 'GET', ca, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      res.on('error', reject);
    });
    req.setTimeout(20_000, () => req.destroy(new Error(`${path}: no answer within 20 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

function deploymentYaml(namespace: string, replicas: number): string {
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: web',
    `  namespace: ${namespace}`,
    'spec:',
    `  replicas: ${replicas}`,
    '  selector:',
    '    matchLabels:',
    '      app: web',
    '  template:',
    '    metadata:',
    '      labels:',
    '        app: web',
    '    spec:',
    '      containers:',
    '      - name: nginx',
    '        image: nginx',
    '',
  ].join('\n');
}

describe.each(['embedded store', 'etcd'])('kubectl writes against watchcache serve on the %s', (store) => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let server: Child | undefined;
  let etcd: EtcdHandle | undefined;
  let url: string;
  let ca: Buffer;
  const children: Child[] = [];
  const call = (u: string, path: string, init: { method?: string; json?: unknown } = {}): Promise<Reply> => adminCall(u, ca, path, init);

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
    if (ABSENT.length > 0) console.log(`kubectl versions absent from ${BIN}, left out: ${ABSENT.join(', ')}`);
    dir = mkdtempSync(join(tmpdir(), 'watchcache-kubectl-writes-'));
    const tokens = join(dir, 'tokens.csv');
    writeFileSync(tokens, TOKENS);
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
      { stdio: 'ignore' },
    );
    ca = readFileSync(cert);
    const args = [CLI, 'serve', '--port', '0', '--token-file', tokens, '--tls-cert', cert, '--tls-key', key];
    if (store === 'etcd') {
      etcd = await startEtcd();
      args.push('--etcd', etcd.endpoints.join(','), '--etcd-progress-notify-interval', '100');
    }
    server = start(process.execPath, args, { PATH: process.env['PATH'] ?? '' });
    url = await servingUrl(server, 30_000);
    env = kubectlEnv(dir, url, { certificateAuthority: cert, token: 'admin-token' });
  }, 60_000);

  afterAll(async () => {
    for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
    if (server !== undefined && server.process.exitCode === null) {
      server.process.kill('SIGTERM');
      await bounded('watchcache serve to exit', server.exited, 30_000).catch(() => server!.process.kill('SIGKILL'));
    }
    await etcd?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('has at least one kubectl between 1.27 and 1.33 to run', () => {
    expect(VERSIONS, `no kubectl.1.27 ... kubectl.1.33 in ${BIN}`).not.toEqual([]);
  });

  it.each(VERSIONS)('kubectl %s: create deployment, get, scale, patch --subresource=status, get --subresource=scale, --dry-run=server, diff, delete -l, auth can-i', async (version) => {
    const kubectlPath = join(BIN, `kubectl.${version}`);
    const kubectl = async (...args: string[]): Promise<Result> => {
      const child = start(kubectlPath, args, env);
      children.push(child);
      const code = await bounded(`kubectl.${version} ${args.join(' ')}`, child.exited, 30_000);
      return { code, stdout: child.stdout, stderr: child.stderr };
    };
    const ok = async (...args: string[]): Promise<string> => {
      const r = await kubectl(...args);
      expect(r.code, `kubectl.${version} ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r.stdout;
    };
    const ran = JSON.parse(await ok('version', '--client', '-o', 'json')).clientVersion.gitVersion as string;
    console.log(`${store}: kubectl.${version} is ${ran}`);
    expect(ran.startsWith(`v${version}.`)).toBe(true);

    const ns = `v${version.replace('.', '-')}`;
    const path = `/apis/apps/v1/namespaces/${ns}/deployments`;
    expect(await ok('create', 'deployment', 'web', '--image=nginx', '-n', ns)).toBe('deployment.apps/web created\n');
    const table = (await ok('get', 'deploy', '-n', ns)).trim().split('\n');
    expect(table[0]).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/);
    expect(table[1]).toMatch(/^web\s+0\/1\s+/);

    expect(await ok('scale', 'deploy', 'web', '--replicas=3', '-n', ns)).toBe('deployment.apps/web scaled\n');
    expect((await call(url, `${path}/web`)).json.spec.replicas).toBe(3);

    const status = JSON.stringify({ status: { replicas: 3, readyReplicas: 3 }, spec: { replicas: 99 } });
    expect(await ok('patch', 'deploy', 'web', '-n', ns, '--subresource=status', '--type=merge', '-p', status)).toBe('deployment.apps/web patched\n');
    const scale = await call(url, `${path}/web/scale`);
    expect(scale.json).toMatchObject({ kind: 'Scale', spec: { replicas: 3 }, status: { replicas: 3, selector: 'app=web' } });
    expect((await ok('get', 'deploy', 'web', '-n', ns)).split('\n')[1]).toMatch(/^web\s+3\/3\s+/);
    const scaleTable = (await ok('get', 'deploy', 'web', '-n', ns, '--subresource=scale')).trim().split('\n');
    expect(scaleTable[0]).toMatch(/^NAME\s+DESIRED\s+AVAILABLE\s+AGE$/);
    expect(scaleTable[1]).toMatch(/^web\s+3\s+3\s+/);

    expect(await ok('create', 'deployment', 'ghost', '--image=nginx', '-n', ns, '--dry-run=server')).toBe('deployment.apps/ghost created (server dry run)\n');
    expect((await call(url, `${path}/ghost`)).status).toBe(404);
    expect(await ok('delete', 'deploy', 'web', '-n', ns, '--dry-run=server')).toBe('deployment.apps "web" deleted (server dry run)\n');
    const before = await call(url, `${path}/web`);
    expect(before.status).toBe(200);

    const file = join(dir, `web-${ns}.yaml`);
    writeFileSync(file, deploymentYaml(ns, 4));
    const diff = await kubectl('diff', '-f', file);
    expect(diff.code, `kubectl diff: ${diff.stderr}`).toBe(1);
    expect(diff.stdout).toMatch(/^-\s+replicas: 3$/m);
    expect(diff.stdout).toMatch(/^\+\s+replicas: 4$/m);
    const after = await call(url, `${path}/web`);
    expect(after.json.metadata.resourceVersion).toBe(before.json.metadata.resourceVersion);

    for (const [name, app] of [['x1', 'x'], ['x2', 'x'], ['y1', 'y']]) {
      const r = await call(url, `/api/v1/namespaces/${ns}/pods`, { method: 'POST', json: { metadata: { name, labels: { app } }, spec: POD_SPEC } });
      expect(r.status).toBe(201);
    }
    const deleted = (await ok('delete', 'pods', '-l', 'app=x', '-n', ns)).trim().split('\n').sort();
    expect(deleted).toEqual(['pod "x1" deleted', 'pod "x2" deleted']);
    // deletecollection is what client libraries (not kubectl) send.
    const collection = await call(url, `/api/v1/namespaces/${ns}/pods?labelSelector=app%3Dy`, { method: 'DELETE' });
    expect(collection.json.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['y1']);
    expect((await call(url, `/api/v1/namespaces/${ns}/pods`)).json.items).toEqual([]);

    expect(await ok('auth', 'can-i', 'create', 'pods', '-n', ns)).toBe('yes\n');
    const viewer = await kubectl('auth', 'can-i', 'create', 'pods', '-n', ns, '--token', 'viewer-token');
    expect(viewer.code).toBe(1);
    expect(viewer.stdout).toMatch(/^no/);
    expect(await ok('auth', 'can-i', 'list', 'deployments.apps', '-n', ns, '--token', 'viewer-token')).toBe('yes\n');
  }, 120_000);
});
