/**
 * The `watchcache` command, run as a child process from source (through tsx, so the test does not
 * depend on a fresh build): it prints one line once ready, serves, and stops cleanly on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bounded, call, openWatch, podBody } from './http-helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'src/cli.ts');

interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

function run(args: readonly string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Run = { child, stdout: '', stderr: '', exited: Promise.resolve(null) };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
  out.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  return out;
}

async function servingUrl(r: Run): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const match = /^watchcache serving on (https?:\/\/\S+)\n/.exec(r.stdout);
    if (match !== null) return match[1]!;
    if (r.child.exitCode !== null) throw new Error(`the server exited (${r.child.exitCode}): ${r.stderr}`);
    if (Date.now() > deadline) throw new Error(`no "serving on" line within 30 s; stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const running: Run[] = [];
afterAll(() => {
  for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGKILL');
});

describe('watchcache serve', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'watchcache-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints one line once ready, serves, and on SIGTERM ends watches cleanly and exits 0', async () => {
    const r = run(['serve', '--port', '0']);
    running.push(r);
    const url = await servingUrl(r);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await call(url, '/healthz')).status).toBe(200);
    expect((await call(url, '/readyz')).status).toBe(200);
    expect((await call(url, '/api/v1/namespaces/default/pods', { method: 'POST', json: podBody('cli-pod') })).status).toBe(201);
    const w = await openWatch(url, '/api/v1/pods?watch=true');
    await w.untilEvents(1);
    r.child.kill('SIGTERM');
    expect(await bounded('exit after SIGTERM', r.exited, 30_000)).toBe(0);
    await w.untilEnded();
    expect(w.events.map((e) => e.type)).toEqual(['ADDED']);
    expect(r.stdout).toBe(`watchcache serving on ${url}\n`);
  });

  it('serves custom resources from --resources and requires tokens with --token-file', async () => {
    const resources = join(dir, 'resources.json');
    writeFileSync(resources, JSON.stringify({ resources: [{ group: 'example.com', version: 'v1', kind: 'Widget', plural: 'widgets', namespaced: true }] }));
    const tokens = join(dir, 'tokens');
    writeFileSync(tokens, 'cli-token,me,rw\n');
    const r = run(['serve', '--port=0', `--resources=${resources}`, '--token-file', tokens, '--prefix', '/custom']);
    running.push(r);
    const url = await servingUrl(r);
    expect((await call(url, '/apis/example.com/v1')).json.resources[0].name).toBe('widgets');
    expect((await call(url, '/apis/example.com/v1/widgets')).status).toBe(401);
    const listed = await call(url, '/apis/example.com/v1/widgets', { headers: { authorization: 'Bearer cli-token' } });
    expect(listed.json).toMatchObject({ kind: 'WidgetList', items: [] });
    r.child.kill('SIGINT');
    expect(await bounded('exit after SIGINT', r.exited, 30_000)).toBe(0);
  });

  it('serves /metrics by default, in the Prometheus text format; --no-metrics turns it off', async () => {
    const on = run(['serve', '--port', '0', '--workers', '0']);
    running.push(on);
    const url = await servingUrl(on);
    const metrics = await call(url, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(metrics.text).toContain('# TYPE apiserver_request_total counter');
    expect(metrics.text).toContain('watch_cache_capacity{group="",resource="pods"} 67108864');
    expect((await call(url, '/')).json.paths).toContain('/metrics');
    on.child.kill('SIGTERM');
    expect(await bounded('exit after SIGTERM', on.exited, 30_000)).toBe(0);

    const off = run(['serve', '--port', '0', '--workers', '0', '--no-metrics']);
    running.push(off);
    const offUrl = await servingUrl(off);
    expect((await call(offUrl, '/metrics')).status).toBe(404);
    expect((await call(offUrl, '/')).json.paths).not.toContain('/metrics');
    off.child.kill('SIGTERM');
    expect(await bounded('exit after SIGTERM', off.exited, 30_000)).toBe(0);
  });

  it('--help prints the usage and exits 0', async () => {
    const r = run(['serve', '--help']);
    expect(await bounded('--help', r.exited, 30_000)).toBe(0);
    expect(r.stdout).toContain('watchcache serve [options]');
    expect(r.stdout).toContain('--token-file');
    expect(r.stdout).toContain('--no-metrics');
  });

  it.each([
    [['serve', '--bogus'], /unknown option "--bogus"/],
    [['serve', '--port', 'abc'], /--port must be an integer/],
    [['serve', '--port', '70000'], /--port must be an integer/],
    [['serve', '--port'], /--port needs a value/],
    [['serve', '--workers', '-1'], /--workers needs a value|--workers must be an integer/],
    [['serve', '--etcd', 'localhost:2379'], /--etcd takes client URLs/],
    [['serve', '--etcd-progress-notify-interval', '500'], /--etcd-progress-notify-interval goes with --etcd/],
    [['serve', '--etcd', 'http://127.0.0.1:2379', '--etcd-progress-notify-interval', '0'], /--etcd-progress-notify-interval must be an integer/],
    [['serve', '--tls-cert', 'cert.pem'], /--tls-cert and --tls-key go together/],
    [['serve', '--prefix', 'registry'], /--prefix must start with/],
    [['frobnicate'], /unknown command/],
  ])('bad command line %j: usage on stderr, exit 2', async (args, message) => {
    const r = run(args);
    expect(await bounded(args.join(' '), r.exited, 30_000)).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('Usage: watchcache');
    expect(r.stdout).toBe('');
  });

  it('a token file that cannot be read or parsed: the reason on stderr, exit 1', async () => {
    const missing = run(['serve', '--port', '0', '--token-file', join(dir, 'nope')]);
    expect(await bounded('missing token file', missing.exited, 30_000)).toBe(1);
    expect(missing.stderr).toMatch(/cannot read token file/);
    const bad = join(dir, 'bad-resources.json');
    writeFileSync(bad, JSON.stringify({ resources: [{ group: 'nodots', version: 'v1', kind: 'X', plural: 'xs', namespaced: true }] }));
    const invalid = run(['serve', '--port', '0', '--resources', bad]);
    expect(await bounded('bad resources file', invalid.exited, 30_000)).toBe(1);
    expect(invalid.stderr).toMatch(/resources\[0\]\.group: must be a DNS subdomain with at least one dot/);
  });

  it('bench runs the benchmark harness: bad options exit 2 with a reason', async () => {
    const r = run(['bench', '--scenario', 'no-such-scenario']);
    expect(await bounded('bench', r.exited, 30_000)).toBe(2);
    expect(r.stderr).toMatch(/no-such-scenario/);
  });
});
