/**
 * What kubectl 1.33 prints when the server refuses an object by its schema: `kubectl create -f`
 * of an invalid pod, of one with an unknown field (kubectl asks for fieldValidation=Strict), and
 * of one that only warns (`--validate=warn`), against the built `watchcache serve`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executable, servingUrl, startChild as start, type Child } from '../helpers/child.js';
import { bounded, call } from '../server/http-helpers.js';
import { kubectlEnv } from '../helpers/kubeconfig.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli.js');
const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.33';

const pod = (name: string, spec: string[]): string => ['apiVersion: v1', 'kind: Pod', 'metadata:', `  name: ${name}`, 'spec:', ...spec, ''].join('\n');

if (!executable(KUBECTL)) console.log(`${KUBECTL} is absent: kubectl create -f of invalid objects skipped`);

describe.skipIf(!executable(KUBECTL))('kubectl 1.33 create -f of invalid objects', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let server: Child | undefined;
  let url: string;

  async function kubectl(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = start(KUBECTL, args, env);
    const code = await bounded(`kubectl ${args.join(' ')}`, child.exited, 60_000);
    return { code, stdout: child.stdout, stderr: child.stderr };
  }

  function file(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'watchcache-kubectl-validation-'));
    server = start(process.execPath, [CLI, 'serve', '--port', '0'], { PATH: process.env['PATH'] ?? '' });
    url = await servingUrl(server, 60_000);
    env = kubectlEnv(dir, url);
  }, 120_000);

  afterAll(async () => {
    if (server !== undefined && server.process.exitCode === null) {
      server.process.kill('SIGTERM');
      await bounded('watchcache serve to exit', server.exited, 30_000).catch(() => server!.process.kill('SIGKILL'));
    }
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('prints kube\'s message for a pod without containers, and nothing is stored', async () => {
    const r = await kubectl('create', '-f', file('empty.yaml', pod('empty', ['  containers: []'])));
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('The Pod "empty" is invalid: spec.containers: Required value');
    expect((await call(url, '/api/v1/namespaces/default/pods/empty')).status).toBe(404);
  });

  it('lists every cause of an invalid pod', async () => {
    const r = await kubectl('create', '-f', file('bad.yaml', pod('bad', ['  restartPolicy: Sometimes', '  containers:', '  - name: app'])));
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      ['The Pod "bad" is invalid: ', '* spec.containers[0].image: Required value', '* spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"'].join('\n'),
    );
  });

  it('refuses an unknown field as kubectl asks (strict), and warns with --validate=warn', async () => {
    const path = file('unknown.yaml', pod('unknown', ['  foo: 1', '  containers:', '  - name: app', '    image: busybox']));
    const strict = await kubectl('create', '-f', path);
    expect(strict.code).toBe(1);
    expect(strict.stderr.trim()).toBe(`Error from server (BadRequest): error when creating "${path}": Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.foo"`);
    const warned = await kubectl('create', '--validate=warn', '-f', path);
    expect(warned.code).toBe(0);
    expect(warned.stderr.trim()).toBe('Warning: unknown field "spec.foo"');
    expect((await call(url, '/api/v1/namespaces/default/pods/unknown')).json.spec.foo).toBeUndefined();
  });
});
