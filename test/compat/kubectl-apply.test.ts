/**
 * `kubectl apply` (client-side, with its last-applied annotation), `kubectl set image` and
 * `kubectl apply --server-side` against the built `watchcache serve`, on the embedded store and
 * on a real etcd, with every kubectl 1.27 … 1.33 installed in /usr/lib/google-cloud-sdk/bin (each
 * called by its path, one after the other; absent ones are reported and skipped).
 *
 * The objects are a Pod (containers merged by name, ports by containerPort) and a Service
 * (ports by port): lists whose elements kubectl's 3-way patches add, change and delete.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdHandle } from '../helpers/etcd.js';
import { executable, servingUrl, startChild as start, type Child } from '../helpers/child.js';
import { bounded, call } from '../server/http-helpers.js';
import { kubectlEnv } from '../helpers/kubeconfig.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli.js');
const BIN = '/usr/lib/google-cloud-sdk/bin';
const VERSIONS = ['1.27', '1.28', '1.29', '1.30', '1.31', '1.32', '1.33'];


const available = VERSIONS.filter((v) => executable(join(BIN, `kubectl.${v}`)));
for (const v of VERSIONS) if (!available.includes(v)) console.log(`kubectl ${v}: ${join(BIN, `kubectl.${v}`)} is absent, skipped`);



interface PodSpec {
  containers: Array<{ name: string; image: string; ports?: Array<{ containerPort: number }>; env?: Array<{ name: string; value: string }> }>;
}

/** The applied configurations, as a user edits them from one version to the next. */
function pod(ns: string, app: { image: string; ports: number[]; env: Array<[string, string]> }, side: boolean): string {
  return [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    '  name: web',
    `  namespace: ${ns}`,
    'spec:',
    '  containers:',
    '  - name: app',
    `    image: ${app.image}`,
    '    ports:',
    ...app.ports.map((p) => `    - containerPort: ${p}`),
    ...(app.env.length === 0 ? [] : ['    env:', ...app.env.flatMap(([name, value]) => [`    - name: ${name}`, `      value: "${value}"`])]),
    ...(side ? ['  - name: side', '    image: busybox:1'] : []),
    '',
  ].join('\n');
}

function service(ns: string, ports: Array<[string, number]>, o: { name?: string; selector?: string; label?: boolean } = {}): string {
  return [
    'apiVersion: v1',
    'kind: Service',
    'metadata:',
    `  name: ${o.name ?? 'web'}`,
    `  namespace: ${ns}`,
    ...(o.label === true ? ['  labels:', '    team: a'] : []),
    'spec:',
    ...(o.selector === '' ? [] : ['  selector:', `    app: ${o.selector ?? 'web'}`]),
    '  ports:',
    ...ports.flatMap(([name, port]) => [`  - name: ${name}`, `    port: ${port}`]),
    '',
  ].join('\n');
}

/** What kube-apiserver's defaulting adds to a container that names an image with a tag other than latest. */
const CONTAINER_DEFAULTS = { imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' };

interface ManagedFieldsEntry {
  manager: string;
  operation: string;
  fieldsV1: Record<string, unknown>;
}

describe.each(['embedded store', 'etcd'])('kubectl apply against watchcache serve on the %s', (backend) => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let server: Child | undefined;
  let etcd: EtcdHandle | undefined;
  let url: string;

  async function kubectl(version: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = start(join(BIN, `kubectl.${version}`), args, env);
    const code = await bounded(`kubectl ${version} ${args.join(' ')}`, child.exited, 60_000);
    return { code, stdout: child.stdout, stderr: child.stderr };
  }

  async function ok(version: string, ...args: string[]): Promise<string> {
    const r = await kubectl(version, ...args);
    expect(r.code, `kubectl ${version} ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  }

  function file(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }

  async function stored(path: string): Promise<Record<string, any>> {
    const r = await call(url, path);
    expect(r.status, r.text).toBe(200);
    return r.json;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'watchcache-kubectl-apply-'));
    const args = [CLI, 'serve', '--port', '0'];
    if (backend === 'etcd') {
      etcd = await startEtcd();
      args.push('--etcd', etcd.endpoint);
    }
    server = start(process.execPath, args, { PATH: process.env['PATH'] ?? '' });
    url = await servingUrl(server, 60_000);
    env = kubectlEnv(dir, url);
  }, 120_000);

  afterAll(async () => {
    if (server !== undefined && server.process.exitCode === null) {
      server.process.kill('SIGTERM');
      await bounded('watchcache serve to exit', server.exited, 30_000).catch(() => server!.process.kill('SIGKILL'));
    }
    await etcd?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it.each(available)('kubectl %s: apply v1, label, apply v2 (new image, added port, changed and added env vars), set image, apply v3 (removals)', async (version) => {
    console.log(`${backend}: running ${join(BIN, `kubectl.${version}`)} (${(await ok(version, 'version', '--client')).split('\n')[0]})`);
    const ns = `csa-${version.replace('.', '-')}`;
    const podPath = `/api/v1/namespaces/${ns}/pods/web`;
    const servicePath = `/api/v1/namespaces/${ns}/services/web`;

    await ok(version, 'apply', '-f', file(`v1-${version}.yaml`, `${pod(ns, { image: 'nginx:1', ports: [80], env: [['MODE', 'one'], ['KEEP', 'k']] }, true)}---\n${service(ns, [['http', 80]])}`));
    // A change made outside the applied configuration, which a 3-way apply keeps.
    await ok(version, 'label', '-n', ns, 'pod/web', 'tier=front');

    await ok(version, 'apply', '-f', file(`v2-${version}.yaml`, `${pod(ns, { image: 'nginx:2', ports: [80, 443], env: [['MODE', 'two'], ['KEEP', 'k'], ['ADDED', 'a']] }, true)}---\n${service(ns, [['http', 80], ['https', 443]])}`));
    let p = await stored(podPath);
    expect(p.metadata.labels).toEqual({ tier: 'front' });
    expect((p.spec as PodSpec).containers).toEqual([
      {
        name: 'app',
        image: 'nginx:2',
        ports: [
          { containerPort: 80, protocol: 'TCP' },
          { containerPort: 443, protocol: 'TCP' },
        ],
        env: [
          { name: 'MODE', value: 'two' },
          { name: 'KEEP', value: 'k' },
          { name: 'ADDED', value: 'a' },
        ],
        ...CONTAINER_DEFAULTS,
      },
      { name: 'side', image: 'busybox:1', ...CONTAINER_DEFAULTS },
    ]);
    expect((await stored(servicePath)).spec.ports).toEqual([
      { name: 'http', port: 80, protocol: 'TCP', targetPort: 80 },
      { name: 'https', port: 443, protocol: 'TCP', targetPort: 443 },
    ]);

    await ok(version, 'set', 'image', '-n', ns, 'pod/web', 'app=nginx:3');
    p = await stored(podPath);
    expect((p.spec as PodSpec).containers.map((c) => c.image)).toEqual(['nginx:3', 'busybox:1']);

    // v3 drops the side container and port 80: kubectl sends `$patch: delete` elements.
    await ok(version, 'apply', '-f', file(`v3-${version}.yaml`, `${pod(ns, { image: 'nginx:3', ports: [443], env: [['KEEP', 'k']] }, false)}---\n${service(ns, [['https', 443]])}`));
    p = await stored(podPath);
    expect((p.spec as PodSpec).containers).toEqual([{ name: 'app', image: 'nginx:3', ports: [{ containerPort: 443, protocol: 'TCP' }], env: [{ name: 'KEEP', value: 'k' }], ...CONTAINER_DEFAULTS }]);
    expect(p.metadata.labels).toEqual({ tier: 'front' });
    expect((await stored(servicePath)).spec.ports).toEqual([{ name: 'https', port: 443, protocol: 'TCP', targetPort: 443 }]);
    expect(await ok(version, 'apply', '-f', join(dir, `v3-${version}.yaml`))).toMatch(/pod\/web unchanged/);
  }, 180_000);

  it.each(available)('kubectl %s: apply --server-side by two managers: conflict, --force-conflicts, removal of what one stops applying', async (version) => {
    console.log(`${backend}: running ${join(BIN, `kubectl.${version}`)} --server-side`);
    const ns = `ssa-${version.replace('.', '-')}`;
    const path = `/api/v1/namespaces/${ns}/services/api`;
    const first = file(`s1-${version}.yaml`, service(ns, [['http', 80]], { name: 'api', label: true }));
    const second = file(`s2-${version}.yaml`, service(ns, [['https', 443]], { name: 'api', selector: 'other' }));

    expect(await ok(version, 'apply', '--server-side', '-f', first)).toMatch(/service\/api serverside-applied/);
    let svc = await stored(path);
    const managers = (): Array<[string, string]> => (svc.metadata.managedFields as ManagedFieldsEntry[]).map((m) => [m.manager, m.operation]);
    expect(managers()).toEqual([['kubectl', 'Apply']]);
    expect((svc.metadata.managedFields as ManagedFieldsEntry[])[0]!.fieldsV1).toEqual({
      'f:metadata': { 'f:labels': { 'f:team': {} } },
      'f:spec': { 'f:ports': { 'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:name': {}, 'f:port': {} } }, 'f:selector': {} },
    });

    // Another manager changing the selector the first one owns: a conflict naming it.
    const refused = await kubectl(version, 'apply', '--server-side', '--field-manager=second', '-f', second);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl": .spec.selector');
    expect((await stored(path)).spec.selector).toEqual({ app: 'web' });

    await ok(version, 'apply', '--server-side', '--field-manager=second', '--force-conflicts', '-f', second);
    svc = await stored(path);
    expect(svc.spec.selector).toEqual({ app: 'other' });
    expect(svc.spec.ports).toEqual([
      { name: 'http', port: 80, protocol: 'TCP', targetPort: 80 },
      { name: 'https', port: 443, protocol: 'TCP', targetPort: 443 },
    ]);
    expect(managers()).toEqual([
      ['kubectl', 'Apply'],
      ['second', 'Apply'],
    ]);

    // The first manager stops applying port 80 and the selector: port 80 (its alone) goes, the
    // selector (now the second's) stays.
    await ok(version, 'apply', '--server-side', '-f', file(`s3-${version}.yaml`, service(ns, [], { name: 'api', label: true, selector: '' }).replace('  ports:\n', '  type: ClusterIP\n')));
    svc = await stored(path);
    expect(svc.spec.ports).toEqual([{ name: 'https', port: 443, protocol: 'TCP', targetPort: 443 }]);
    expect(svc.spec.selector).toEqual({ app: 'other' });
    expect(svc.metadata.labels).toEqual({ team: 'a' });

    // Client-side apply, then a server-side apply changing its field: the conflict names the
    // client-side manager as an Update manager.
    await ok(version, 'apply', '-f', file(`c1-${version}.yaml`, service(ns, [['http', 80]], { name: 'csa' })));
    const csa = await kubectl(version, 'apply', '--server-side', '--field-manager=second', '-f', file(`c2-${version}.yaml`, service(ns, [['http', 80]], { name: 'csa', selector: 'other' })));
    expect(csa.code).not.toBe(0);
    expect(csa.stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: .spec.selector');
  }, 180_000);
});
