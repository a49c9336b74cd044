/**
 * The package as users get it: `npm pack` the build, install the tarball into an empty folder
 * (dependencies from the registry or npm's cache), and run the installed `watchcache` command.
 * This catches what the sources' tests cannot: a file missing from `files`, a runtime import of a
 * dev dependency, a bin that does not start. It packs the current build (`npm run build` first, as
 * `npm test` does) and runs no install scripts.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
/** Bounds for the child processes, so a hang fails the test instead of stalling the suite. */
const NPM_TIMEOUT_MS = 120_000;
const BENCH_TIMEOUT_MS = 120_000;

let dir: string;
let bin: string;

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/src/cli.js'))) throw new Error('no build in dist/: run `npm run build` first');
  dir = await mkdtemp(join(tmpdir(), 'watchcache-pack-'));
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, timeout: NPM_TIMEOUT_MS });
  const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
  const app = join(dir, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, filename)], {
    cwd: app,
    timeout: NPM_TIMEOUT_MS,
  });
  bin = join(app, 'node_modules', '.bin', 'watchcache');
}, 2 * NPM_TIMEOUT_MS);

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('the installed package', () => {
  it('`watchcache serve --port 0` starts, answers /healthz and its OpenAPI schemas (shipped data), and exits 0 on SIGTERM', async () => {
    const child = spawn(bin, ['serve', '--port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const check = (): void => {
          const match = /^watchcache serving on (http:\/\/\S+)\n/.exec(stdout);
          if (match !== null) resolve(match[1]!);
        };
        child.stdout.on('data', check);
        void exited.then((code) => reject(new Error(`watchcache exited (${code}) before serving: ${stderr}`)));
      });
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.text()).toBe('ok');
      // The built-in schemas are a data file beside the code: the package must ship it.
      const openapi = await fetch(`${url}/openapi/v3/api/v1`);
      expect(openapi.status).toBe(200);
      expect(((await openapi.json()) as { components: { schemas: Record<string, unknown> } }).components.schemas).toHaveProperty(['io.k8s.api.core.v1.Pod']);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);

  it('`watchcache bench --smoke` runs to completion and writes its report', async () => {
    const out = join(dir, 'bench-results');
    const { stdout } = await run(bin, ['bench', '--smoke', '--workers', '0', '--quiet', '--out', out], { cwd: dir, timeout: BENCH_TIMEOUT_MS });
    expect(stdout).toContain(join(out, 'latest.json'));
    const report = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as { profile: string; micro: { status: string } | null };
    expect(report.profile).toBe('smoke');
    // The micro-benchmarks need benny at run time: it has to be a dependency of the package.
    expect(report.micro?.status).toBe('ok');
  }, BENCH_TIMEOUT_MS + 10_000);
});
