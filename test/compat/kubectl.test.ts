/**
 * kubectl against the built `watchcache serve` (dist/src/cli.js), as a user runs it: a kubeconfig
 * naming the server, nothing else from the machine (HOME, KUBECONFIG and the discovery cache all
 * live in a temporary directory). The kubectl on PATH is used, or $KUBECTL.
 *
 * Checked with kubectl 1.32 and with Debian's kubernetes-client (1.20), which `.ci/run` installs
 * when a machine has no kubectl. A missing kubectl fails the suite with how to install it.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { executable, servingUrl, startChild as start, type Child } from '../helpers/child.js';
import { podYaml } from '../helpers/pods.js';
import { bounded, call, eventually, POD_SPEC } from '../server/http-helpers.js';
import { kubectlEnv } from '../helpers/kubeconfig.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli.js');

const INSTALL_HINT =
  'kubectl not found: install it (Debian/Ubuntu: `apt-get install -y kubernetes-client`; elsewhere https://kubernetes.io/docs/tasks/tools/), ' +
  'or set KUBECTL=/path/to/kubectl';


function findKubectl(): string {
  const fromEnv = process.env['KUBECTL'];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (executable(fromEnv)) return fromEnv;
    throw new Error(`${INSTALL_HINT} (KUBECTL=${fromEnv} is not executable)`);
  }
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir !== '' && executable(join(dir, 'kubectl'))) return join(dir, 'kubectl');
  }
  throw new Error(INSTALL_HINT);
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('kubectl against watchcache serve', () => {
  let kubectlPath: string;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let server: Child | undefined;
  let url: string;
  const children: Child[] = [];

  /** Runs kubectl to completion (bounded). */
  async function kubectl(...args: string[]): Promise<Result> {
    const child = start(kubectlPath, args, env);
    children.push(child);
    const code = await bounded(`kubectl ${args.join(' ')}`, child.exited, 30_000);
    return { code, stdout: child.stdout, stderr: child.stderr };
  }

  /** Runs kubectl and expects exit 0; returns stdout. */
  async function ok(...args: string[]): Promise<string> {
    const r = await kubectl(...args);
    expect(r.code, `kubectl ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  }

  // A missing kubectl fails every test with the install hint (a failing beforeAll would only
  // mark them skipped).
  let missing: Error | undefined;
  beforeEach(() => {
    if (missing !== undefined) throw missing;
  });

  beforeAll(async () => {
    try {
      kubectlPath = findKubectl();
    } catch (err) {
      missing = err as Error;
      return;
    }
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
    dir = mkdtempSync(join(tmpdir(), 'watchcache-kubectl-'));
    // One custom resource with printer columns, for `kubectl get widgets`.
    const resources = join(dir, 'resources.json');
    writeFileSync(
      resources,
      JSON.stringify({
        resources: [
          {
            group: 'example.com',
            version: 'v1',
            kind: 'Widget',
            plural: 'widgets',
            namespaced: true,
            additionalPrinterColumns: [
              { name: 'Color', type: 'string', jsonPath: '.spec.color' },
              { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
              { name: 'First-Port', type: 'integer', jsonPath: '.spec.ports[0].port', priority: 1 },
            ],
          },
        ],
      }),
    );
    server = start(process.execPath, [CLI, 'serve', '--port', '0', '--resources', resources], { PATH: process.env['PATH'] ?? '' });
    url = await servingUrl(server, 30_000);
    env = kubectlEnv(dir, url);
  });

  afterAll(async () => {
    for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
    if (server !== undefined && server.process.exitCode === null) {
      server.process.kill('SIGTERM');
      await bounded('watchcache serve to exit', server.exited, 30_000).catch(() => server!.process.kill('SIGKILL'));
    }
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('get pods -A -w streams ADDED, MODIFIED and DELETED as they happen', async () => {
    const watch = start(kubectlPath, ['get', 'pods', '-A', '-w', '--output-watch-events'], env);
    children.push(watch);
    const lines = (): string[] => watch.stdout.split('\n').map((l) => l.trim().split(/\s+/).slice(0, 3).join(' '));
    const create = async (name: string): Promise<void> => {
      const r = await call(url, '/api/v1/namespaces/kw/pods', { method: 'POST', json: { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: POD_SPEC } });
      expect(r.status, r.text).toBe(201);
    };
    const saw = (line: string): Promise<void> =>
      eventually(`kubectl to print "${line}" (stdout ${JSON.stringify(watch.stdout)}, stderr ${JSON.stringify(watch.stderr)})`, () => lines().includes(line), 15_000);

    // Whether kubectl lists or watches it, "first" shows up once kubectl follows the pods; every
    // later change comes from its watch, which starts at its list's resourceVersion.
    await create('first');
    await saw('ADDED kw first');
    await create('second');
    const patched = await call(url, '/api/v1/namespaces/kw/pods/second', {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ metadata: { labels: { step: 'two' } } }),
    });
    expect(patched.status).toBe(200);
    expect((await call(url, '/api/v1/namespaces/kw/pods/second', { method: 'DELETE' })).status).toBe(200);
    await saw('DELETED kw second');
    expect(lines().filter((l) => l.endsWith(' second'))).toEqual(['ADDED kw second', 'MODIFIED kw second', 'DELETED kw second']);
    // The list and the watch events are server-side Tables with the pod columns: one header, and
    // every event row in the pod's columns (READY 0/0, RESTARTS 0 for a pod without containers).
    const headers = watch.stdout.split('\n').filter((l) => l.startsWith('EVENT'));
    expect(headers).toHaveLength(1);
    expect(headers[0]).toMatch(/^EVENT\s+NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    const rows = watch.stdout.split('\n').filter((l) => / second /.test(l));
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row).toMatch(/^(ADDED|MODIFIED|DELETED)\s+kw\s+second\s+0\/1\s+.*\s0\s+\S+\s*$/);
    expect(watch.process.exitCode).toBeNull();
    watch.process.kill('SIGTERM');
    await bounded('kubectl get -w to exit', watch.exited, 10_000);
  });

  it('get pods -w on an empty namespace prints the pod header from the first watch event, then rows in the pod columns', async () => {
    const watch = start(kubectlPath, ['get', 'pods', '-n', 'kwe', '-w'], env);
    children.push(watch);
    // Once kubectl's watch streams (after its empty list), the pod's events reach it as watch events.
    const watching = async (): Promise<boolean> =>
      /apiserver_longrunning_requests\{[^}]*resource="pods"[^}]*\} [1-9]/.test((await call(url, '/metrics')).text);
    await eventually(`kubectl to watch pods (stderr ${JSON.stringify(watch.stderr)})`, watching, 15_000);
    const r = await call(url, '/api/v1/namespaces/kwe/pods', { method: 'POST', json: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'solo' }, spec: POD_SPEC } });
    expect(r.status, r.text).toBe(201);
    expect((await call(url, '/api/v1/namespaces/kwe/pods/solo', { method: 'DELETE' })).status).toBe(200);
    const lines = (): string[] => watch.stdout.split('\n').filter((l) => l !== '');
    await eventually(`two rows of solo (stdout ${JSON.stringify(watch.stdout)})`, () => lines().filter((l) => l.startsWith('solo ')).length === 2, 15_000);
    // Only the first event carries the column definitions; kubectl prints its header once.
    expect(lines()[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    expect(lines().filter((l) => l.startsWith('NAME'))).toHaveLength(1);
    for (const row of lines().slice(1)) expect(row).toMatch(/^solo\s+0\/1\s+.*\s0\s+\S+\s*$/);
    watch.process.kill('SIGTERM');
    await bounded('kubectl get -w to exit', watch.exited, 10_000);
  });

  it('apply -f creates the pod; again unchanged; with a changed label configured', async () => {
    const file = join(dir, 'pod.yaml');
    writeFileSync(file, podYaml('applied', 'ka', { app: 'demo' }));
    expect(await ok('apply', '-f', file)).toBe('pod/applied created\n');
    expect(await ok('apply', '-f', file)).toBe('pod/applied unchanged\n');
    writeFileSync(file, podYaml('applied', 'ka', { app: 'demo', tier: 'web' }));
    expect(await ok('apply', '-f', file)).toBe('pod/applied configured\n');
    const stored = await call(url, '/api/v1/namespaces/ka/pods/applied');
    expect(stored.json.metadata.labels).toEqual({ app: 'demo', tier: 'web' });
    // kube's defaults: an image without a tag is pulled Always.
    expect(stored.json.spec.containers).toEqual([{ name: 'app', image: 'nginx', imagePullPolicy: 'Always', terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' }]);
    expect(JSON.parse(stored.json.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).metadata.labels).toEqual({ app: 'demo', tier: 'web' });
  });

  it('create -f with an invalid label: kubectl prints the Invalid Status as for kube-apiserver; nothing is stored', async () => {
    const file = join(dir, 'bad-label.yaml');
    writeFileSync(file, podYaml('badlabel', 'kv', { app: 'x/y' }));
    const r = await kubectl('create', '-f', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `The Pod "badlabel" is invalid: metadata.labels: Invalid value: "x/y": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
    expect((await call(url, '/api/v1/namespaces/kv/pods/badlabel')).status).toBe(404);
  });

  it('get pod NAME -o json prints the object with its resourceVersion; get pods prints a table', async () => {
    const created = await call(url, '/api/v1/namespaces/kg/pods', { method: 'POST', json: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'shown', labels: { a: 'b' } }, spec: POD_SPEC } });
    expect(created.status).toBe(201);
    const object = JSON.parse(await ok('get', 'pod', 'shown', '-n', 'kg', '-o', 'json'));
    expect(object).toMatchObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'shown', namespace: 'kg', labels: { a: 'b' } } });
    expect(object.metadata.resourceVersion).toBe(created.json.metadata.resourceVersion);
    expect(object.metadata.uid).toBe(created.json.metadata.uid);
    expect(object.metadata.creationTimestamp).toBe(created.json.metadata.creationTimestamp);
    const table = (await ok('get', 'pods', '-n', 'kg')).split('\n');
    expect(table[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    // Created without a status: Pending, as kube-apiserver starts every pod.
    expect(table[1]).toMatch(/^shown\s+0\/1\s+Pending\s+0\s+\d+s$/);
  });

  it('get pods prints kube’s pod columns and STATUS from the server-side Table; -o wide adds IP, NODE, NOMINATED NODE, READINESS GATES', async () => {
    console.log(`kubectl: ${kubectlPath}: ${(await ok('version', '--client')).split('\n')[0]}`);
    const pods = [
      { name: 'ok', status: { phase: 'Running', podIP: '10.0.0.5', containerStatuses: [{ name: 'app', ready: true, restartCount: 0, state: { running: {} } }] } },
      { name: 'crashing', status: { phase: 'Running', containerStatuses: [{ name: 'app', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } } }] } },
      { name: 'initing', initContainers: [{ name: 'init', image: 'busybox' }], status: { phase: 'Pending', initContainerStatuses: [{ name: 'init', state: { running: {} } }] } },
      { name: 'killed', status: { phase: 'Failed', containerStatuses: [{ name: 'app', state: { terminated: { exitCode: 137, signal: 9 } } }] } },
    ];
    for (const p of pods) {
      const spec = { nodeName: 'node-7', containers: [{ name: 'app', image: 'nginx' }], ...(p.initContainers === undefined ? {} : { initContainers: p.initContainers }) };
      const r = await call(url, '/api/v1/namespaces/kt/pods', { method: 'POST', json: { apiVersion: 'v1', kind: 'Pod', metadata: { name: p.name }, spec, status: p.status } });
      expect(r.status, r.text).toBe(201);
    }
    const rows = (text: string): string[][] => text.trim().split('\n').map((l) => l.trim().split(/\s{2,}/));
    const table = rows(await ok('get', 'pods', '-n', 'kt'));
    expect(table[0]).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    const byName = new Map(table.slice(1).map((r) => [r[0], r.slice(1, 4)]));
    expect(Object.fromEntries(byName)).toEqual({
      ok: ['1/1', 'Running', '0'],
      crashing: ['0/1', 'CrashLoopBackOff', '4'],
      initing: ['0/1', 'Init:0/1', '0'],
      killed: ['0/1', 'Signal:9', '0'],
    });
    const wide = rows(await ok('get', 'pods', '-n', 'kt', '-o', 'wide'));
    expect(wide[0]).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
    expect(wide.find((r) => r[0] === 'ok')?.slice(5)).toEqual(['10.0.0.5', 'node-7', '<none>', '<none>']);
    const one = rows(await ok('get', 'pod', 'crashing', '-n', 'kt'));
    expect(one.map((r) => r.slice(0, 4))).toEqual([
      ['NAME', 'READY', 'STATUS', 'RESTARTS'],
      ['crashing', '0/1', 'CrashLoopBackOff', '4'],
    ]);
  });

  it('get widgets prints the custom resource’s printer columns; -o wide adds the priority-1 ones', async () => {
    const created = await call(url, '/apis/example.com/v1/namespaces/kc/widgets', {
      method: 'POST',
      json: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1' }, spec: { color: 'blue', replicas: 3, ports: [{ port: 8080 }] } },
    });
    expect(created.status, created.text).toBe(201);
    const rows = (text: string): string[][] => text.trim().split('\n').map((l) => l.trim().split(/\s{2,}/));
    expect(rows(await ok('get', 'widgets', '-n', 'kc'))).toEqual([
      ['NAME', 'COLOR', 'REPLICAS'],
      ['w1', 'blue', '3'],
    ]);
    expect(rows(await ok('get', 'widgets', '-n', 'kc', '-o', 'wide'))).toEqual([
      ['NAME', 'COLOR', 'REPLICAS', 'FIRST-PORT'],
      ['w1', 'blue', '3', '8080'],
    ]);
  });

  it('delete pod NAME deletes it; then get is NotFound', async () => {
    // kubectl explains a NotFound by the namespace when that does not exist, as on a real cluster.
    expect(await ok('create', 'namespace', 'kd')).toBe('namespace/kd created\n');
    const created = await call(url, '/api/v1/namespaces/kd/pods', { method: 'POST', json: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'doomed' }, spec: POD_SPEC } });
    expect(created.status).toBe(201);
    expect(await ok('delete', 'pod', 'doomed', '-n', 'kd')).toBe('pod "doomed" deleted\n');
    expect((await call(url, '/api/v1/namespaces/kd/pods/doomed')).status).toBe(404);
    const missing = await kubectl('get', 'pod', 'doomed', '-n', 'kd');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Error from server (NotFound): pods "doomed" not found');
  });
});
