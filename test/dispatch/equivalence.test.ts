/**
 * One code path, two placements: randomized histories (creates, updates, deletes, selector
 * flips, trigger moves, then a compaction and a relist, then more) watched by many watchers give
 * identical event streams with dispatch inline (workers 0) and on 1 and 4 worker threads, and
 * every stream equals what a reference model of the Kubernetes rules predicts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createCacher, type Cacher } from '../../src/cache/cacher.js';
import type { WatchOptions } from '../../src/cache/request.js';
import { parseFieldSelector, matchesFields } from '../../src/select/field-selector.js';
import { parseLabelSelector, matchesLabels } from '../../src/select/label-selector.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { BreakableStorage } from '../cache/cacher-conformance.js';
import { POD_SCHEMA, Pods, readUntil, type PodSpec, type Seen } from '../helpers/pods.js';
import { seededRandom } from '../helpers/random.js';

type Op = { kind: 'put'; spec: PodSpec } | { kind: 'delete'; name: string; namespace: string };

function history(seed: number, length: number): Op[] {
  const next = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const live = new Map<string, PodSpec>();
  const ops: Op[] = [];
  for (let i = 0; i < length; i++) {
    const name = pick(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7']);
    const namespace = pick(['ns0', 'ns1']);
    const key = `${namespace}/${name}`;
    const current = live.get(key);
    if (current !== undefined && next() < 0.15) {
      live.delete(key);
      ops.push({ kind: 'delete', name, namespace });
      continue;
    }
    // Updates move one thing at a time: a label (selector flips), the node (trigger moves), the phase.
    const spec: PodSpec = current === undefined ? { name, namespace, labels: { app: pick(['a', 'b', 'c']) }, nodeName: pick(['n0', 'n1', 'n2']) } : { ...current };
    const change = next();
    if (change < 0.35) spec.labels = { ...spec.labels, app: pick(['a', 'b', 'c']) };
    else if (change < 0.5) spec.labels = next() < 0.5 ? { app: spec.labels?.app ?? 'a', tier: pick(['x', 'y']) } : { app: spec.labels?.app ?? 'a' };
    else if (change < 0.8) spec.nodeName = pick(['n0', 'n1', 'n2', 'n3']);
    else spec.phase = pick(['Pending', 'Running', 'Succeeded']);
    live.set(key, spec);
    ops.push({ kind: 'put', spec });
  }
  return ops;
}

const WATCHES: WatchOptions[] = [
  {},
  { namespace: 'ns1' },
  { labelSelector: 'app=a' },
  { labelSelector: 'app in (a,b),tier!=x' },
  { labelSelector: '!tier' },
  { fieldSelector: 'spec.nodeName=n1' },
  { fieldSelector: 'spec.nodeName=n2' },
  { fieldSelector: 'spec.nodeName=n0', namespace: 'ns0' },
  { fieldSelector: 'status.phase=Running' },
  { fieldSelector: 'metadata.name=p3' },
  { fieldSelector: 'spec.nodeName=n3', labelSelector: 'app=c' },
];

/** The Kubernetes rules as a plain model: what each watcher must see for a run of ops. */
class Model {
  readonly #state = new Map<string, { labels: Record<string, string>; fields: Record<string, string>; namespace: string }>();

  apply(op: Op, rv: number, watches: readonly WatchOptions[]): Seen[][] {
    const key = op.kind === 'put' ? `${op.spec.namespace}/${op.spec.name}` : `${op.namespace}/${op.name}`;
    const prev = this.#state.get(key);
    let next: typeof prev;
    if (op.kind === 'put') {
      const s = op.spec;
      next = {
        namespace: s.namespace!,
        labels: s.labels ?? {},
        fields: {
          'metadata.name': s.name,
          'metadata.namespace': s.namespace!,
          'spec.nodeName': s.nodeName ?? '',
          'status.phase': s.phase ?? 'Pending',
        },
      };
      this.#state.set(key, next);
    } else {
      this.#state.delete(key);
    }
    const name = key.split('/')[1];
    return watches.map((w) => {
      const matches = (o: typeof prev): boolean =>
        o !== undefined &&
        (w.namespace === undefined || w.namespace === o.namespace) &&
        matchesLabels(parseLabelSelector(w.labelSelector ?? ''), o.labels) &&
        matchesFields(parseFieldSelector(w.fieldSelector ?? '', POD_SCHEMA.selectableFields), o.fields);
      const now = matches(next);
      const before = matches(prev);
      if (now) return [{ type: before ? 'MODIFIED' : 'ADDED', name, rv }];
      if (before) return [{ type: 'DELETED', name, rv }];
      return [];
    });
  }
}

async function apply(pods: Pods, op: Op): Promise<number> {
  return op.kind === 'put' ? pods.put(op.spec) : pods.delete(op.name, op.namespace);
}

async function run(workers: number, seed: number): Promise<{ phase1: Seen[][]; relisted: string[]; phase3: Seen[][]; expected: Seen[][][] }> {
  const storage = new BreakableStorage(new MemoryStorage());
  const pods = new Pods(storage, '/registry/pods/');
  const cacher = createCacher({ storage, prefix: pods.prefix, ...POD_SCHEMA, workers, backoff: { initialMs: 5, maxMs: 10 } });
  cachers.push(cacher);
  await cacher.ready();
  const model = new Model();
  const watches = [...WATCHES, ...WATCHES, ...WATCHES];
  const expected1: Seen[][] = watches.map(() => []);

  // Phase 1: every watcher from the same RV; a history with all kinds of changes.
  const start = String(cacher.revision);
  const phase1Watches = await Promise.all(watches.map((w) => cacher.watch({ ...w, resourceVersion: start })));
  for (const op of history(seed, 250)) {
    const rv = await apply(pods, op);
    model.apply(op, rv, watches).forEach((events, i) => expected1[i]!.push(...events));
  }
  const phase1 = await Promise.all(phase1Watches.map((w, i) => readUntil(w, (e) => e.length >= expected1[i]!.length)));

  // Phase 2: compaction, then the store's watch breaks: the cacher relists and ends every watch;
  // a re-watch from a watcher's last RV is 410 unless that RV is still in the new window.
  await storage.compact(await storage.currentRevision());
  const lists = cacher.stats().reflector.lists;
  storage.breakWatches();
  await Promise.all(phase1Watches.map((w) => readUntil(w, () => false)));
  while (cacher.stats().reflector.lists === lists) await new Promise((r) => setTimeout(r, 5));
  await cacher.ready();
  const relisted: string[] = [];
  for (let i = 0; i < watches.length; i++) {
    const last = phase1[i]!.at(-1)?.rv ?? Number(start);
    const again = await cacher.watch({ ...watches[i], resourceVersion: String(last) });
    const first = await readUntil(again, (e) => e.length > 0 || last >= cacher.revision, 2_000).catch(() => [] as Seen[]);
    relisted.push(first[0]?.type === 'ERROR' ? `ERROR ${first[0].code}` : 'resumed');
    again.stop();
  }

  // Phase 3: fresh watchers on the new window, and more history.
  const expected3: Seen[][] = watches.map(() => []);
  const phase3Watches = await Promise.all(watches.map((w) => cacher.watch({ ...w, resourceVersion: String(cacher.revision) })));
  for (const op of history(seed + 1, 150)) {
    const rv = await apply(pods, op);
    model.apply(op, rv, watches).forEach((events, i) => expected3[i]!.push(...events));
  }
  const phase3 = await Promise.all(phase3Watches.map((w, i) => readUntil(w, (e) => e.length >= expected3[i]!.length)));
  for (const w of phase3Watches) w.stop();
  return { phase1, relisted, phase3, expected: [expected1, expected3] };
}

const cachers: Cacher[] = [];
afterEach(async () => {
  await Promise.all(cachers.splice(0).map((c) => c.stop()));
});

describe('dispatch placement equivalence', () => {
  for (const seed of [7, 2024]) {
    it(`seed ${seed}: workers 0, 1 and 4 deliver identical streams, equal to the model`, async () => {
      const inline = await run(0, seed);
      expect(inline.phase1).toEqual(inline.expected[0]);
      expect(inline.phase3).toEqual(inline.expected[1]);
      expect(inline.phase1.flat().length).toBeGreaterThan(200);
      expect(inline.relisted).toContain('ERROR 410');
      for (const workers of [1, 4]) {
        const threaded = await run(workers, seed);
        expect(threaded.phase1).toEqual(inline.phase1);
        expect(threaded.relisted).toEqual(inline.relisted);
        expect(threaded.phase3).toEqual(inline.phase3);
      }
    }, 120_000);
  }
});
