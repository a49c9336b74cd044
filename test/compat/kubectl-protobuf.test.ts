/**
 * kubectl ≥ 1.32 writes built-in kinds as protobuf (`Content-Type:
 * application/vnd.kubernetes.protobuf`, `Accept: application/vnd.kubernetes.protobuf,
 * application/json`). The real binaries, `kubectl.1.32` and `kubectl.1.33` (as the Google Cloud
 * SDK installs them; found on PATH or in /usr/lib/google-cloud-sdk/bin; an absent one is logged
 * and skipped), create the kinds `kubectl create` builds itself against a server started here,
 * and read them back; and `kubectl events -w`, whose typed client watches in protobuf (`;stream=watch`).
 */
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bounded, call, eventually, startTestServer, type TestServer } from '../server/http-helpers.js';

const SDK_BIN = '/usr/lib/google-cloud-sdk/bin';

/** The binary `name` on PATH or in SDK_BIN; undefined (the version is logged and skipped) when absent. */
function findVersioned(name: string): string | undefined {
  for (const dir of [...(process.env['PATH'] ?? '').split(delimiter), SDK_BIN]) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, name), fsConstants.X_OK);
      return join(dir, name);
    } catch {
      // not in this directory
    }
  }
  console.log(`${name} not found on PATH or in ${SDK_BIN}: skipped (the Google Cloud SDK's kubectl component installs it)`);
  return undefined;
}

const VERSIONS = ['1.33', '1.32'].map((version) => ({ version, path: findVersioned(`kubectl.${version}`) }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

for (const { version, path } of VERSIONS) describe.skipIf(path === undefined)(`kubectl ${version} sends protobuf bodies for built-in kinds`, () => {
  let t: TestServer;
  let home: string;
  let kubectl: string;
  const namespace = `pb-${version.replace('.', '-')}`;

  /** kubectl with only --server (no kubeconfig); its discovery cache stays in a temporary HOME. */
  function run(...args: string[]): Promise<Run> {
    return new Promise((resolve) => {
      execFile(kubectl, ['--server', t.url, ...args], { env: { PATH: process.env['PATH'] ?? '', HOME: home }, timeout: 60_000 }, (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr });
      });
    });
  }

  async function ok(...args: string[]): Promise<string> {
    const r = await run(...args);
    expect(r.code, `kubectl ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  }

  beforeAll(async () => {
    kubectl = path!;
    home = mkdtempSync(join(tmpdir(), 'watchcache-kubectl-pb-'));
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.close();
    if (home !== undefined) rmSync(home, { recursive: true, force: true });
  });

  it('runs the kubectl it names', async () => {
    const printed = (await ok('version', '--client')).split('\n')[0];
    console.log(`kubectl: ${kubectl}: ${printed}`);
    expect(printed).toContain(`v${version}.`);
  });

  it('create configmap sends protobuf and gets protobuf back; get -o json shows the data', async () => {
    const verbose = await run('-n', namespace, 'create', 'configmap', 'demo', '--from-literal=a=b', '-v=8');
    expect(verbose.code, verbose.stderr).toBe(0);
    expect(verbose.stdout).toBe('configmap/demo created\n');
    // What went over the wire, in kubectl's own log: a protobuf body, a protobuf answer.
    expect(verbose.stderr).toMatch(/Content-Type: application\/vnd\.kubernetes\.protobuf\n[^]*201 Created[^]*Content-Type: application\/vnd\.kubernetes\.protobuf/);
    const object = JSON.parse(await ok('-n', namespace, 'get', 'configmap', 'demo', '-o', 'json'));
    expect(object).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'demo', namespace }, data: { a: 'b' } });
  });

  it('create namespace, secret generic and service clusterip succeed and read back', async () => {
    expect(await ok('create', 'namespace', namespace)).toBe(`namespace/${namespace} created\n`);
    expect(await ok('-n', namespace, 'create', 'secret', 'generic', 's', '--from-literal=k=v')).toBe('secret/s created\n');
    expect(await ok('-n', namespace, 'create', 'service', 'clusterip', 'svc', '--tcp=80:8080')).toBe('service/svc created\n');
    const secret = JSON.parse(await ok('-n', namespace, 'get', 'secret', 's', '-o', 'json'));
    expect(secret).toMatchObject({ kind: 'Secret', data: { k: Buffer.from('v').toString('base64') } });
    const service = JSON.parse(await ok('-n', namespace, 'get', 'service', 'svc', '-o', 'json'));
    expect(service.spec).toMatchObject({ type: 'ClusterIP', ports: [{ name: '80-8080', port: 80, protocol: 'TCP', targetPort: 8080 }], selector: { app: 'svc' } });
    expect(JSON.parse(await ok('get', 'namespace', namespace, '-o', 'json')).metadata.name).toBe(namespace);
  });

  it('events -w reads a protobuf watch stream and prints the events it carries', async () => {
    const child = spawn(kubectl, ['--server', t.url, '-n', namespace, 'events', '-w', '-v=8'], { env: { PATH: process.env['PATH'] ?? '', HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      // kubectl's log shows the stream its watch got.
      const watchAnswered = /Content-Type: application\/vnd\.kubernetes\.protobuf;stream=watch/;
      await eventually(`kubectl's protobuf watch to start (stderr ${JSON.stringify(stderr.slice(-2000))})`, () => watchAnswered.test(stderr), 30_000);
      const event = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'e1' },
        involvedObject: { kind: 'Pod', name: 'web', namespace },
        reason: 'Started',
        message: 'carried by a protobuf watch',
        type: 'Normal',
        count: 1,
      };
      const created = await call(t.url, `/api/v1/namespaces/${namespace}/events`, { method: 'POST', json: event });
      expect(created.status, created.text).toBe(201);
      await eventually(`kubectl to print the event (stdout ${JSON.stringify(stdout)})`, () => stdout.includes('carried by a protobuf watch'), 30_000);
      expect(stdout).toMatch(/Normal\s+Started\s+Pod\/web\s+carried by a protobuf watch/);
    } finally {
      child.kill('SIGTERM');
      await bounded('kubectl events -w to exit', exited, 10_000);
    }
  }, 90_000);

  it('an error kubectl gets as a protobuf Status prints as from kube-apiserver', async () => {
    const again = await run('-n', namespace, 'create', 'configmap', 'demo', '--from-literal=a=b');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('configmaps "demo" already exists');
    const invalid = await run('-n', namespace, 'create', 'configmap', 'Bad_Name', '--from-literal=a=b');
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"');
  });
});
