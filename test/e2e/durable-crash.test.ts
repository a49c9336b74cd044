/**
 * `watchcache serve --data-dir DIR` killed with SIGKILL in the middle of a write load, then started
 * again on the same directory: every write the server acknowledged is there, revisions continue,
 * and the history before the crash is still in the store for clients resuming from a pre-crash
 * resourceVersion. A real child process, real HTTP, a real kill -9.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DurableStorage } from '../../src/storage/durable.js';
import { bounded, call, openWatch, podBody } from '../server/http-helpers.js';
import { collect, eventsOf } from '../storage/conformance.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'src/cli.ts');
const PODS = '/api/v1/namespaces/default/pods';

interface Server {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<unknown>;
}

const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'watchcache-crash-'));
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `watchcache` (from source, through tsx) with `args`. */
function start(args: readonly string[]): Omit<Server, 'url'> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { child, stderr: () => stderr, exited };
}

/** Starts `watchcache serve --data-dir` and waits for its URL. */
async function serve(dataDir: string): Promise<Server> {
  const { child, stderr: stderrOf, exited } = start(['serve', '--port', '0', '--workers', '0', '--data-dir', dataDir]);
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const match = /^watchcache serving on (http:\/\/\S+)\n/.exec(stdout);
    if (match !== null) return { child, url: match[1]!, stderr: stderrOf, exited };
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}): ${stderrOf()}`);
    if (Date.now() > deadline) throw new Error(`no "serving on" line within 60 s; stderr ${JSON.stringify(stderrOf())}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** One write the server answered with success: what it did, to which pod, at which revision. */
interface Ack {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  name: string;
  rv: number;
}

const rvOf = (object: { metadata: { resourceVersion: string } }): number => Number(object.metadata.resourceVersion);

describe('watchcache serve --data-dir', () => {
  it('killed with SIGKILL mid-load: keeps every acknowledged write, continues its revisions, and keeps the history a resuming client needs', async () => {
    const dataDir = join(dir, 'data');
    const first = await serve(dataDir);
    expect(first.stderr()).toMatch(/recovered 0 objects at revision 1 in \d+ ms/);
    const acks: Ack[] = [];

    for (let i = 0; i < 10; i++) {
      const reply = await call(first.url, PODS, { method: 'POST', json: podBody(`before-${i}`) });
      expect(reply.status).toBe(201);
      acks.push({ type: 'ADDED', name: `before-${i}`, rv: rvOf(reply.json) });
    }
    // The revision a client resuming after the crash last saw.
    const preCrash = rvOf((await call(first.url, PODS)).json);

    for (let i = 0; i < 3; i++) {
      const patch = await call(first.url, `${PODS}/before-${i}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ metadata: { labels: { patched: 'yes' } } }),
      });
      expect(patch.status).toBe(200);
      acks.push({ type: 'MODIFIED', name: `before-${i}`, rv: rvOf(patch.json) });
      const removed = await call(first.url, `${PODS}/before-${i + 5}`, { method: 'DELETE' });
      expect(removed.status).toBe(200);
      acks.push({ type: 'DELETED', name: `before-${i + 5}`, rv: Number.NaN });
    }

    // A write load in flight when the process is killed: 8 writers, at most 400 writes.
    let next = 0;
    let killed = false;
    const load = Array.from({ length: 8 }, async () => {
      while (!killed && next < 400) {
        const name = `load-${next++}`;
        try {
          const reply = await call(first.url, PODS, { method: 'POST', json: podBody(name) });
          if (reply.status === 201) acks.push({ type: 'ADDED', name, rv: rvOf(reply.json) });
        } catch {
          // The connection died with the process: this write was not acknowledged.
        }
      }
    });
    const loadAcks = (): number => acks.filter((a) => a.name.startsWith('load-')).length;
    const deadline = Date.now() + 60_000;
    while (loadAcks() < 50 && next < 400 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    first.child.kill('SIGKILL');
    killed = true;
    await bounded('the killed server to exit', first.exited, 30_000);
    await Promise.all(load);
    expect(loadAcks()).toBeGreaterThanOrEqual(50);
    const acked = [...acks];

    // The store itself, opened where the killed server left it: the history since the pre-crash
    // revision is all there, every acknowledged write at its own revision, no revision missing.
    const lastAcked = Math.max(...acked.map((a) => a.rv).filter((rv) => !Number.isNaN(rv)));
    const missed = await (async () => {
      const storage = await DurableStorage.open({ dataDir });
      try {
        const current = await storage.currentRevision();
        expect(current).toBeGreaterThanOrEqual(lastAcked);
        const batches = await collect(storage.watch('/registry/pods/', { fromRevision: preCrash + 1 }), (b) => eventsOf(b).at(-1)?.kv.modRevision === current);
        const revisions = eventsOf(batches).map((e) => e.kv.modRevision);
        expect(revisions).toEqual(Array.from({ length: current - preCrash }, (_, i) => preCrash + 1 + i));
        return eventsOf(batches).map((e) => [e.type === 'put' ? (e.kv.createRevision === e.kv.modRevision ? 'ADDED' : 'MODIFIED') : 'DELETED', e.kv.key.split('/').at(-1), e.kv.modRevision] as const);
      } finally {
        await storage.close();
      }
    })();

    const second = await serve(dataDir);
    expect(second.stderr()).toMatch(/recovered \d+ objects at revision \d+ in \d+ ms/);
    const list = (await call(second.url, PODS)).json;
    const pods = new Map<string, { metadata: { resourceVersion: string; labels?: Record<string, string> } }>(
      list.items.map((pod: { metadata: { name: string } }) => [pod.metadata.name, pod]),
    );
    expect(rvOf(list)).toBeGreaterThanOrEqual(lastAcked);
    // Each pod as its last acknowledged write left it.
    const last = new Map(acked.map((ack) => [ack.name, ack]));
    for (const ack of last.values()) {
      if (ack.type === 'DELETED') expect(pods.has(ack.name), `${ack.name} deleted`).toBe(false);
      else expect(pods.has(ack.name), `${ack.name} acknowledged at ${ack.rv}`).toBe(true);
    }
    for (let i = 0; i < 3; i++) expect(pods.get(`before-${i}`)!.metadata.labels).toEqual({ patched: 'yes' });
    for (const ack of acked.filter((a) => a.name.startsWith('load-'))) expect(rvOf(pods.get(ack.name)!)).toBe(ack.rv);

    // Over HTTP, a watch from the pre-crash revision gets exactly what it missed: the restarted
    // cache starts its window at the store's oldest retained revision and replays from there.
    const resumed = await openWatch(second.url, `${PODS}?watch=true&resourceVersion=${preCrash}`);
    await resumed.untilEvents(missed.length, 30_000);
    expect(resumed.events.map((e) => [e.type, e.object.metadata.name, rvOf(e.object)])).toEqual(missed);
    resumed.close();
    const rewatch = await openWatch(second.url, `${PODS}?watch=true&resourceVersion=${rvOf(list)}`);

    // Revisions continue: the next write lands after everything before the crash.
    const after = await call(second.url, PODS, { method: 'POST', json: podBody('after-restart') });
    expect(after.status).toBe(201);
    expect(rvOf(after.json)).toBe(rvOf(list) + 1);
    await rewatch.untilEvents(1, 30_000);
    expect(rewatch.events.map((e) => [e.type, e.object.metadata.name, rvOf(e.object)])).toEqual([['ADDED', 'after-restart', rvOf(list) + 1]]);
    rewatch.close();

    second.child.kill('SIGTERM');
    expect(await bounded('a clean stop', second.exited, 30_000)).toBe(0);
  });

  it('a data directory a live server holds is refused (exit 1, the reason on stderr); --data-dir with --etcd is a usage error (exit 2)', async () => {
    const dataDir = join(dir, 'held');
    const holder = await serve(dataDir);
    const second = start(['serve', '--port', '0', '--data-dir', dataDir]);
    expect(await bounded('the second server to exit', second.exited, 30_000)).toBe(1);
    expect(second.stderr()).toMatch(/the data directory is in use by process \d+/);
    const both = start(['serve', '--data-dir', dataDir, '--etcd', 'http://127.0.0.1:2379']);
    expect(await bounded('the usage error', both.exited, 30_000)).toBe(2);
    expect(both.stderr()).toMatch(/--data-dir is for the embedded store/);
    holder.child.kill('SIGTERM');
    expect(await bounded('a clean stop', holder.exited, 30_000)).toBe(0);
  });
});
