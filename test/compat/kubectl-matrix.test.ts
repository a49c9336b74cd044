/**
 * The kubectl column of the client matrix (docs/server.md, "Clients"): kubectl 1.27 … 1.33, each
 * run explicitly by its path (/usr/lib/google-cloud-sdk/bin/kubectl.1.NN; the ones present run,
 * and the test log says which), against a server on the embedded store and on real etcd. With no
 * versioned kubectl on the machine the kubectl on PATH runs instead (Debian's kubernetes-client).
 *
 * One fixed script per version: create by generator, apply, get as a table (plain, wide, json),
 * get -w, patch (strategic, merge, json), label, wait, delete, explain. Each step is its own test,
 * so a failure names the version and the step.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineResource, BUILTIN_RESOURCES } from '../../src/server/registry.js';
import { podYaml } from '../helpers/pods.js';
import { bounded, call, eventually } from '../server/http-helpers.js';
import { STORES, requireExecutable, runChild, startChild, type Child, type MatrixServer } from './clients/harness.js';

const VERSIONED = '/usr/lib/google-cloud-sdk/bin';
const MINORS = [27, 28, 29, 30, 31, 32, 33];

function kubectls(): Array<{ label: string; path: string }> {
  const present = MINORS.map((m) => ({ label: `1.${m}`, path: join(VERSIONED, `kubectl.1.${m}`) })).filter((k) => existsSync(k.path));
  if (present.length > 0) return present;
  const onPath = (process.env['PATH'] ?? '').split(delimiter).map((dir) => join(dir, 'kubectl')).find((p) => existsSync(p));
  const install = 'install kubectl (`apt-get install -y kubernetes-client`) or kubectl.1.NN into ' + VERSIONED;
  return [{ label: 'PATH', path: requireExecutable(onPath ?? 'kubectl', install) }];
}

const WIDGET = defineResource({
  group: 'example.com',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  namespaced: true,
  schema: {
    openAPIV3Schema: {
      type: 'object',
      properties: { spec: { type: 'object', description: 'What the widget should be.', properties: { size: { type: 'integer', description: 'How big the widget is.' } } } },
    },
  },
});

const rows = (text: string): string[][] => text.trim().split('\n').map((l) => l.trim().split(/\s{2,}/));

for (const store of STORES) {
  describe(`kubectl against ${store.name}`, () => {
    let t: MatrixServer;
    let dir: string;
    beforeAll(async () => {
      t = await store.start([...BUILTIN_RESOURCES, WIDGET]);
      dir = mkdtempSync(join(tmpdir(), 'watchcache-kubectl-matrix-'));
    });
    afterAll(async () => {
      await t?.close();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    for (const kubectl of kubectls()) {
      describe(`kubectl ${kubectl.label}`, () => {
        const ns = `k${kubectl.label.replace('.', '-')}`.toLowerCase();
        const children: Child[] = [];
        let env: NodeJS.ProcessEnv;
        let api: (path: string, init?: Parameters<typeof call>[2]) => ReturnType<typeof call>;

        beforeAll(async () => {
          // The namespace exists, as on a cluster (kubectl explains a NotFound by a missing namespace).
          const made = await call(t.url, '/api/v1/namespaces', { method: 'POST', json: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } });
          expect(made.status, made.text).toBe(201);
          // Its own HOME: kubectl's discovery and OpenAPI caches start empty for every version.
          const home = mkdtempSync(join(dir, `${ns}-`));
          const config = join(home, 'config');
          writeFileSync(
            config,
            `apiVersion: v1\nkind: Config\nclusters:\n- name: w\n  cluster:\n    server: ${t.url}\ncontexts:\n- name: w\n  context:\n    cluster: w\n    namespace: ${ns}\n    user: u\nusers:\n- name: u\n  user: {}\ncurrent-context: w\n`,
          );
          env = { PATH: process.env['PATH'] ?? '', HOME: home, KUBECONFIG: config };
          api = (path, init) => call(t.url, path, init);
        });
        afterAll(async () => {
          for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
        });

        const run = (...args: string[]) => runChild(kubectl.path, args, env, 30_000);
        const ok = async (...args: string[]): Promise<string> => {
          const r = await run(...args);
          expect(r.code, `kubectl ${kubectl.label} ${args.join(' ')}: ${r.stderr}`).toBe(0);
          return r.stdout;
        };

        it('version: which kubectl ran', async () => {
          const version = JSON.parse(await ok('version', '--client', '-o', 'json')) as { clientVersion: { gitVersion: string } };
          console.log(`kubectl ${kubectl.label}: ${kubectl.path}: ${version.clientVersion.gitVersion} (${store.name})`);
          if (kubectl.label !== 'PATH') expect(version.clientVersion.gitVersion).toMatch(new RegExp(`^v${kubectl.label.replace('.', '\\.')}\\.`));
        });

        it('create by generator: run (a pod)', async () => {
          expect(await ok('run', 'gen-pod', '--image=nginx', '--labels=app=gen')).toBe('pod/gen-pod created\n');
          expect((await api(`/api/v1/namespaces/${ns}/pods/gen-pod`)).json).toMatchObject({ metadata: { labels: { app: 'gen' } }, spec: { containers: [{ name: 'gen-pod', image: 'nginx' }] } });
        });

        // kubectl ≥ 1.32 sends these two bodies as protobuf (application/vnd.kubernetes.protobuf).
        it('create by generator: create configmap', async () => {
          expect(await ok('create', 'configmap', 'gen-cm', '--from-literal=color=blue')).toBe('configmap/gen-cm created\n');
          expect((await api(`/api/v1/namespaces/${ns}/configmaps/gen-cm`)).json.data).toEqual({ color: 'blue' });
        });

        it('create by generator: create namespace', async () => {
          expect(await ok('create', 'namespace', `${ns}-made`)).toBe(`namespace/${ns}-made created\n`);
          expect((await api(`/api/v1/namespaces/${ns}-made`)).status).toBe(200);
        });

        it('apply -f: created, then unchanged, then configured', async () => {
          const file = join(env['HOME']!, 'pod.yaml');
          writeFileSync(file, podYaml('applied', ns, { app: 'demo' }));
          expect(await ok('apply', '-f', file)).toBe('pod/applied created\n');
          expect(await ok('apply', '-f', file)).toBe('pod/applied unchanged\n');
          writeFileSync(file, podYaml('applied', ns, { app: 'demo', tier: 'web' }));
          expect(await ok('apply', '-f', file)).toBe('pod/applied configured\n');
          expect((await api(`/api/v1/namespaces/${ns}/pods/applied`)).json.metadata.labels).toEqual({ app: 'demo', tier: 'web' });
        });

        it('get as a table: plain, -o wide, -o json', async () => {
          const status = { phase: 'Running', podIP: '10.1.2.3', containerStatuses: [{ name: 'app', ready: true, restartCount: 2, state: { running: {} } }] };
          const made = await api(`/api/v1/namespaces/${ns}/pods`, {
            method: 'POST',
            json: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'shown' }, spec: { nodeName: 'node-9', containers: [{ name: 'app', image: 'nginx' }] }, status },
          });
          expect(made.status, made.text).toBe(201);
          const plain = rows(await ok('get', 'pod', 'shown'));
          expect(plain[0]).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
          expect(plain[1]!.slice(0, 4)).toEqual(['shown', '1/1', 'Running', '2']);
          const wide = rows(await ok('get', 'pod', 'shown', '-o', 'wide'));
          expect(wide[0]).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
          expect(wide[1]!.slice(5)).toEqual(['10.1.2.3', 'node-9', '<none>', '<none>']);
          const list = JSON.parse(await ok('get', 'pods', '-l', 'app=demo', '-o', 'json'));
          expect(list.kind).toBe('List');
          expect(list.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['applied']);
          const one = JSON.parse(await ok('get', 'pod', 'shown', '-o', 'json'));
          expect(one.metadata.resourceVersion).toBe(made.json.metadata.resourceVersion);
        });

        it('get -w: ADDED, MODIFIED, DELETED as they happen', async () => {
          const watchNs = `${ns}-w`;
          const watch = startChild(kubectl.path, ['get', 'pods', '-n', watchNs, '-w', '--output-watch-events'], env);
          children.push(watch);
          const lines = (): string[] => watch.stdout.split('\n').map((l) => l.trim().split(/\s+/).slice(0, 2).join(' '));
          const saw = (line: string): Promise<void> => eventually(`"${line}" (stdout ${JSON.stringify(watch.stdout)}, stderr ${JSON.stringify(watch.stderr)})`, () => lines().includes(line), 20_000);
          const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'app', image: 'nginx' }] } });
          expect((await api(`/api/v1/namespaces/${watchNs}/pods`, { method: 'POST', json: pod('first') })).status).toBe(201);
          await saw('ADDED first');
          expect((await api(`/api/v1/namespaces/${watchNs}/pods`, { method: 'POST', json: pod('second') })).status).toBe(201);
          const patched = await api(`/api/v1/namespaces/${watchNs}/pods/second`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: '{"metadata":{"labels":{"x":"y"}}}' });
          expect(patched.status).toBe(200);
          expect((await api(`/api/v1/namespaces/${watchNs}/pods/second`, { method: 'DELETE' })).status).toBe(200);
          await saw('DELETED second');
          expect(lines().filter((l) => l.endsWith(' second'))).toEqual(['ADDED second', 'MODIFIED second', 'DELETED second']);
          expect(watch.process.exitCode).toBeNull();
          watch.process.kill('SIGTERM');
          await bounded('kubectl get -w to exit', watch.exited, 10_000);
        });

        it('patch: strategic (the default), --type merge, --type json', async () => {
          const made = await api(`/api/v1/namespaces/${ns}/pods`, { method: 'POST', json: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'patched', labels: { a: '1' } }, spec: { containers: [{ name: 'app', image: 'nginx' }] } } });
          expect(made.status).toBe(201);
          expect(await ok('patch', 'pod', 'patched', '-p', '{"metadata":{"labels":{"b":"2"}}}')).toBe('pod/patched patched\n');
          expect(await ok('patch', 'pod', 'patched', '--type', 'merge', '-p', '{"metadata":{"labels":{"c":"3"}}}')).toBe('pod/patched patched\n');
          expect(await ok('patch', 'pod', 'patched', '--type', 'json', '-p', '[{"op":"remove","path":"/metadata/labels/a"}]')).toBe('pod/patched patched\n');
          expect((await api(`/api/v1/namespaces/${ns}/pods/patched`)).json.metadata.labels).toEqual({ b: '2', c: '3' });
        });

        it('label: add, overwrite, remove', async () => {
          const made = await api(`/api/v1/namespaces/${ns}/pods`, { method: 'POST', json: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'labelled' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } } });
          expect(made.status).toBe(201);
          expect(await ok('label', 'pod', 'labelled', 'color=red', 'size=s')).toBe('pod/labelled labeled\n');
          expect(await ok('label', 'pod', 'labelled', '--overwrite', 'color=green')).toBe('pod/labelled labeled\n');
          expect(await ok('label', 'pod', 'labelled', 'size-')).toBe('pod/labelled unlabeled\n');
          expect((await api(`/api/v1/namespaces/${ns}/pods/labelled`)).json.metadata.labels).toEqual({ color: 'green' });
        });

        it('wait: --for=condition=Ready on a ready pod, --for=delete while it is deleted', async () => {
          const pod = (name: string, status?: unknown) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'app', image: 'nginx' }] }, ...(status === undefined ? {} : { status }) });
          expect((await api(`/api/v1/namespaces/${ns}/pods`, { method: 'POST', json: pod('ready', { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] }) })).status).toBe(201);
          expect(await ok('wait', '--for=condition=Ready', 'pod/ready', '--timeout=30s')).toBe('pod/ready condition met\n');
          expect((await api(`/api/v1/namespaces/${ns}/pods`, { method: 'POST', json: pod('leaving') })).status).toBe(201);
          const pods = t.server.caches.find((c) => c.resource.plural === 'pods')!.cacher;
          const watchers = pods.stats().watchers;
          const waiting = startChild(kubectl.path, ['wait', '--for=delete', 'pod/leaving', '--timeout=30s'], env);
          children.push(waiting);
          // Delete once kubectl is waiting: it has found the pod and watches it.
          await eventually(`kubectl wait to watch the pod (stderr ${JSON.stringify(waiting.stderr)})`, () => pods.stats().watchers > watchers, 20_000);
          expect((await api(`/api/v1/namespaces/${ns}/pods/leaving`, { method: 'DELETE' })).status).toBe(200);
          expect(await bounded('kubectl wait --for=delete to exit', waiting.exited, 40_000), waiting.stderr).toBe(0);
          expect(waiting.stdout).toBe('pod/leaving condition met\n');
        });

        it('delete: the pod goes; get is then NotFound', async () => {
          expect((await api(`/api/v1/namespaces/${ns}/pods`, { method: 'POST', json: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'doomed' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } } })).status).toBe(201);
          expect(await ok('delete', 'pod', 'doomed')).toMatch(/^pod "doomed" deleted( from \S+ namespace)?\n$/);
          expect((await api(`/api/v1/namespaces/${ns}/pods/doomed`)).status).toBe(404);
          const missing = await run('get', 'pod', 'doomed');
          expect(missing.code).toBe(1);
          expect(missing.stderr).toContain('(NotFound): pods "doomed" not found');
        });

        it('explain pods.spec.containers and a custom resource by its schema', async () => {
          const containers = await ok('explain', 'pods.spec.containers');
          expect(containers).toMatch(/KIND:\s+Pod\n/);
          expect(containers).toMatch(/VERSION:\s+v1\n/);
          expect(containers).toMatch(/FIELD:\s+containers <\[\]Container>/);
          expect(containers).toContain('List of containers belonging to the pod.');
          expect(containers).toMatch(/\n\s+image\s+<string>\n/);
          expect(containers).toMatch(/\n\s+name\s+<string> -required-\n/);
          const widget = await ok('explain', 'widgets.spec');
          expect(widget).toMatch(/GROUP:\s+example\.com\n/);
          expect(widget).toContain('What the widget should be.');
          expect(widget).toMatch(/size\s+<integer>\n\s+How big the widget is\./);
        });

        it('explain --output plaintext-openapiv2 reads the v2 protobuf document', async () => {
          // kubectl < 1.27 (the Debian fallback) has no --output for explain and reads v2 anyway.
          const v2 = kubectl.label === 'PATH' ? ['explain', 'pods.spec.containers'] : ['explain', 'pods.spec.containers', '--output', 'plaintext-openapiv2'];
          const containers = await ok(...v2);
          expect(containers).toMatch(/KIND:\s+Pod\n/);
          expect(containers).toMatch(/RESOURCE:\s+containers <\[\]Object>/);
          expect(containers).toContain('List of containers belonging to the pod.');
          expect(containers).toMatch(/\n\s+image\s+<string>\n/);
        });
      });
    }
  });
}
