/**
 * The whole path under faults: real etcd, `watchcache serve` processes, HTTP watchers that resume
 * and relist as client-go does, and a writer going through the server. After each scenario the
 * history checker holds every stream against etcd's own history:
 *   - each watcher's stream is the gapless, duplicate-free, ordered history of the store filtered
 *     by its selector, with ADDED/DELETED on match flips, across resumes, failovers and relists;
 *   - every acknowledged write is in the store at its RV, as acknowledged;
 *   - at the end, every watcher's state, a LIST from every live server and the store agree.
 * Faults: etcd kill -9 and restart; etcd SIGSTOP for 10 s; compaction while watchers are behind;
 * server kill -9 and restart; failover to a second server on the same etcd; stalled watchers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdHandle } from '../helpers/etcd.js';
import { checkWatcher, diffStates, filterState, formatDefects, keyOf, rvOf, type Defect, type JsonObject, type Selector, type StoreHistory, type WatcherLogEntry } from './history-checker.js';
import { HttpWatcher, httpCall, ServerProcess, sleep, waitFor, Writer } from './harness.js';
import { EtcdHistory } from './store-history.js';

const NAMESPACE = 'e2e';

function labels(o: JsonObject): Record<string, string> {
  return ((o['metadata'] as JsonObject)['labels'] as Record<string, string> | undefined) ?? {};
}

/** Each selector as the server is asked for it, and as the checker evaluates it on its own. */
const SELECTORS: ReadonlyArray<{ name: string; selector: Selector }> = [
  { name: 'all', selector: { query: '', matches: () => true } },
  { name: 'flip=yes', selector: { query: `labelSelector=${encodeURIComponent('flip=yes')}`, matches: (o) => labels(o)['flip'] === 'yes' } },
  { name: 'group in (a,b)', selector: { query: `labelSelector=${encodeURIComponent('group in (a,b)')}`, matches: (o) => ['a', 'b'].includes(labels(o)['group'] ?? '') } },
  { name: 'flip!=yes,group=c', selector: { query: `labelSelector=${encodeURIComponent('flip!=yes,group=c')}`, matches: (o) => labels(o)['flip'] !== 'yes' && labels(o)['group'] === 'c' } },
  { name: 'spec.nodeName=node-1', selector: { query: `fieldSelector=${encodeURIComponent('spec.nodeName=node-1')}`, matches: (o) => (o['spec'] as JsonObject)['nodeName'] === 'node-1' } },
];

/** The index of the watcher that asks for short watches (a bookmark ends each). */
const BOOKMARKED = 3;

interface Scenario {
  etcd: EtcdHandle;
  servers: ServerProcess[];
  watchers: HttpWatcher[];
  writer: Writer;
  history: EtcdHistory;
}

interface ScenarioOptions {
  servers?: number;
  writes?: number;
  padBytes?: number;
  /** The server the writer starts on (it fails over to the others). */
  writerStartsOn?: number;
  /** Runs while the writer writes; the scenario ends when both are done. */
  fault(s: Scenario): Promise<void>;
}

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  cleanup = [];
});

async function runScenario(label: string, options: ScenarioOptions): Promise<Scenario> {
  const etcd = await startEtcd();
  cleanup.push(() => etcd.stop());
  const servers: ServerProcess[] = [];
  for (let i = 0; i < (options.servers ?? 1); i++) {
    const server = await ServerProcess.start(`server-${i}`, etcd.endpoint, 1);
    cleanup.push(() => server.kill9());
    servers.push(server);
  }
  const urls = servers.map((s) => s.url);
  const history = new EtcdHistory(etcd.endpoint);
  // With two servers, half the watchers start on each (each fails over to the other).
  // The sparse watcher's streams end every few seconds with a bookmark, so it resumes from bookmark RVs.
  const watchers = SELECTORS.map(
    ({ name, selector }, i) => new HttpWatcher(name, selector, [...urls.slice(i % urls.length), ...urls.slice(0, i % urls.length)], NAMESPACE, i === BOOKMARKED ? 3 : undefined),
  );
  cleanup.push(async () => {
    await Promise.all(watchers.map((w) => w.stop()));
  });
  for (const w of watchers) w.start();
  await Promise.all(watchers.map((w) => w.ready()));
  const first = options.writerStartsOn ?? 0;
  const writer = new Writer([...urls.slice(first), ...urls.slice(0, first)], { namespace: NAMESPACE, names: 12, ...(options.padBytes === undefined ? {} : { padBytes: options.padBytes }) });
  const s: Scenario = { etcd, servers, watchers, writer, history };
  const writes = options.writes ?? 250;
  await Promise.all([writer.run(writes), options.fault(s)]);
  expect(writer.acked.length).toBeGreaterThanOrEqual(writes);

  await verify(label, s);
  return s;
}

/** The end of every scenario: watchers, LIST and the store agree, and the checker finds nothing. */
async function verify(label: string, s: Scenario): Promise<void> {
  const { watchers, writer, history, servers } = s;
  const end = await history.catchUp();
  const truth = history.history();
  const finalState = truth.stateAt(end);

  const defects: Defect[] = [];
  // A watcher that never gets there is reported with the rest, so the checker can say why.
  await Promise.all(
    watchers.map(async (w) => {
      const want = filterState(finalState, w.selector);
      try {
        await waitFor(`${w.name} to reach the store's state at RV ${end}`, () => diffStates(want, w.state).length === 0, 60_000, () => diffStates(want, w.state).join('; '));
      } catch (err) {
        defects.push({ watcher: w.name, rv: end, message: (err as Error).message });
      }
    }),
  );
  for (const server of servers.filter((x) => x.running)) {
    for (const { name, selector } of SELECTORS) {
      const path = `/api/v1/namespaces/${NAMESPACE}/pods${selector.query === '' ? '' : `?${selector.query}`}`;
      const reply = await httpCall(server.url, 'GET', path);
      expect(reply.status).toBe(200);
      const listRV = Number((reply.json!['metadata'] as JsonObject)['resourceVersion']);
      const items = new Map((reply.json!['items'] as JsonObject[]).map((o) => [keyOf(o), o]));
      expect(listRV).toBeGreaterThanOrEqual(end);
      const diff = diffStates(filterState(finalState, selector), items);
      if (diff.length > 0) defects.push({ watcher: `LIST ${name} from ${server.name}`, rv: listRV, message: 'final LIST differs from the store', got: diff.join('; ') });
    }
  }

  for (const w of watchers) {
    const result = checkWatcher(w.name, w.selector, w.log, truth);
    defects.push(...result.defects);
    if (result.defects.length === 0) {
      const diff = diffStates(result.state, w.state);
      if (diff.length > 0) defects.push({ watcher: w.name, rv: result.lastRV, message: 'replayed log and live state differ', got: diff.join('; ') });
    }
  }
  for (const write of writer.acked) {
    const wrong = truth.checkWrite(write);
    if (wrong !== null) defects.push({ watcher: 'writer', rv: write.rv, message: wrong });
  }

  const summary = watchers.map((w) => `${w.name}: ${w.log.filter((e) => e.kind === 'event').length} events, ${w.relists} lists, ${w.log.filter((e) => e.kind === 'watch').length} watches, ${w.failovers} failovers, ${w.bookmarks} bookmarks`);
  console.log(`[${label}] ${writer.acked.length} acked writes (${writer.failures} failed tries), store at RV ${end}, ${truth.events.length} pod events\n  ${summary.join('\n  ')}`);
  if (defects.length > 0) for (const srv of s.servers) console.log(`${srv.name} stderr (last 8 KB):`, srv.stderr);
  // On a defect, each watcher's log in short (what it listed, watched from, and received), so a
  // failure in CI can be read without a rerun.
  if (defects.length > 0) {
    for (const w of watchers) console.log(w.name, JSON.stringify(w.log.map((e) => (e.kind === 'event' ? `${e.type}@${(e.object['metadata'] as { resourceVersion?: string } | undefined)?.resourceVersion}` : e.kind === 'watch' ? `WATCH(${e.from} on ${e.server})` : `LIST(${e.rv})`))));
  }
  expect(formatDefects(defects), `defects in "${label}"`).toBe('');
  injectedDefectsAreCaught(watchers[1]!, truth);
}

const isChange = (e: WatcherLogEntry | undefined): e is Extract<WatcherLogEntry, { kind: 'event' }> =>
  e !== undefined && e.kind === 'event' && (e.type === 'ADDED' || e.type === 'MODIFIED' || e.type === 'DELETED');

/**
 * The checker is not vacuous on this run: a dropped event, a duplicate, a reorder and a wrong type
 * on a match flip injected into the watcher's real log are each caught.
 */
function injectedDefectsAreCaught(w: HttpWatcher, truth: StoreHistory): void {
  const log = w.log;
  const pairs = log.flatMap((e, i) => (isChange(e) && isChange(log[i + 1]) ? [i] : []));
  expect(pairs.length, `${w.name} saw too few events to inject defects into`).toBeGreaterThan(0);
  const i = pairs[Math.floor(pairs.length / 2)]!;
  const flips = log.flatMap((e, j) => {
    if (!isChange(e) || e.type === 'MODIFIED') return [];
    // A flip: the store updated the object there (not a create, not a delete).
    const change = truth.events.find((x) => x.rev === rvOf(e.object) && x.key === keyOf(e.object));
    return change !== undefined && change.type === 'put' && change.prev !== null ? [j] : [];
  });
  expect(flips.length, `${w.name} saw no selector flip`).toBeGreaterThan(0);
  const f = flips[Math.floor(flips.length / 2)]!;
  const mutants: Record<string, WatcherLogEntry[]> = {
    dropped: [...log.slice(0, i), ...log.slice(i + 1)],
    duplicate: [...log.slice(0, i + 1), log[i]!, ...log.slice(i + 1)],
    reorder: [...log.slice(0, i), log[i + 1]!, log[i]!, ...log.slice(i + 2)],
    'wrong type on a flip': log.map((e, j) => (j === f ? { ...(e as Extract<WatcherLogEntry, { kind: 'event' }>), type: 'MODIFIED' as const } : e)),
  };
  for (const [name, mutant] of Object.entries(mutants)) {
    expect(checkWatcher(w.name, w.selector, mutant, truth).defects.length, `injected ${name} not caught`).toBeGreaterThan(0);
  }
}

describe('end-to-end fault suite: HTTP watchers against the store history', { timeout: 240_000 }, () => {
  it('etcd kill -9 and restart', async () => {
    await runScenario('etcd kill -9', {
      async fault({ etcd, writer }) {
        await writer.untilAcked(80);
        await etcd.kill9();
        await sleep(1000);
        await etcd.restart();
      },
    });
  });

  it('etcd SIGSTOP for 10 s', async () => {
    await runScenario('etcd SIGSTOP', {
      async fault({ etcd, writer }) {
        await writer.untilAcked(80);
        etcd.pause();
        try {
          await sleep(10_000);
        } finally {
          etcd.resume();
        }
      },
    });
  });

  it('compaction while watchers are behind, then a server restart: the behind watchers get 410 and relist', async () => {
    const s = await runScenario('compaction', {
      writes: 300,
      async fault({ watchers, writer, history, servers }) {
        await writer.untilAcked(50);
        // One watcher stops reading, one goes offline (it keeps its RV).
        watchers[0]!.stall();
        await watchers[1]!.stop();
        await writer.untilAcked(150);
        await history.compact();
        await writer.untilAcked(200);
        // The new server lists after the compaction: the behind watchers' RVs are older than its window.
        await servers[0]!.kill9();
        await servers[0]!.restart();
        watchers[0]!.unstall();
        watchers[1]!.start();
      },
    });
    // Relisting is how a watcher from before the window recovers (client-go's reflector).
    expect(s.watchers[1]!.relists).toBeGreaterThanOrEqual(2);
  });

  it('server kill -9 and restart on the same port', async () => {
    await runScenario('server kill -9', {
      async fault({ servers, writer }) {
        await writer.untilAcked(100);
        await servers[0]!.kill9();
        await sleep(500);
        await servers[0]!.restart();
      },
    });
  });

  it('a second server on the same etcd: clients fail over to it with their RVs', async () => {
    const s = await runScenario('failover', {
      servers: 2,
      async fault({ servers, writer }) {
        await writer.untilAcked(100);
        await servers[0]!.kill9();
      },
    });
    // The watchers that started on the killed server moved to the other one.
    for (const [i, w] of s.watchers.entries()) if (i % 2 === 0) expect(w.failovers, w.name).toBeGreaterThanOrEqual(1);
  });

  it('compaction while a server is frozen (SIGSTOP) far behind it: its cache relists, its watchers relist, nothing is lost', async () => {
    const s = await runScenario('server frozen across a compaction', {
      servers: 2,
      writerStartsOn: 1,
      writes: 320,
      // Big objects fill the frozen server's gRPC stream, so etcd holds its watch back (unsynced)
      // and the compaction passes it.
      padBytes: 80_000,
      async fault({ servers, writer, history }) {
        await writer.untilAcked(30);
        servers[0]!.pause();
        try {
          await writer.untilAcked(260);
          await history.compact();
          await writer.untilAcked(270);
        } finally {
          servers[0]!.resume();
        }
      },
    });
    // The frozen server's pods cache learnt of the compaction and listed again.
    expect(await s.servers[0]!.metric('apiserver_watch_cache_initializations_total', 'resource="pods"')).toBeGreaterThanOrEqual(2);
  });

  it('stalled watchers: the server stalls them on their own cursor, the others go on, and they catch up without loss', async () => {
    let stalledSeen = 0;
    await runScenario('stalled watchers', {
      writes: 400,
      padBytes: 50_000,
      async fault({ watchers, writer, servers }) {
        await writer.untilAcked(30);
        watchers[1]!.stall();
        watchers[2]!.stall();
        // Their socket buffers fill, the server stops acking their frames, and the dispatcher stalls them.
        await waitFor('the server to report stalled watchers', async () => (stalledSeen = await servers[0]!.metric('watchcache_dispatcher_stalled_watchers', 'resource="pods"')) >= 1, 120_000, () => `${writer.acked.length} writes so far`);
        // The watcher of everything keeps up meanwhile.
        const rv = writer.acked[writer.acked.length - 1]!.rv;
        await waitFor('the watcher that reads to keep up', () => watchers[0]!.lastRV >= rv, 60_000);
        watchers[1]!.unstall();
        watchers[2]!.unstall();
      },
    });
    expect(stalledSeen).toBeGreaterThanOrEqual(1);
  });
});
