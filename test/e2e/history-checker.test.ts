/**
 * The history checker itself: a clean history passes, and each injected defect (a dropped event,
 * a duplicate, a reorder, a wrong type on a match flip, a bookmark past an undelivered event, a
 * LIST that differs, an acknowledged write that is not in the store) is caught and named.
 */
import { describe, expect, it } from 'vitest';
import {
  atRevision,
  checkWatcher,
  formatDefects,
  StoreHistory,
  type JsonObject,
  type Selector,
  type StoreEvent,
  type WatcherLogEntry,
} from './history-checker.js';

function podObject(name: string, flip: string, seq: number): JsonObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns', labels: { flip } }, spec: {}, status: { phase: 'Pending', seq } };
}

const yes: Selector = { query: 'labelSelector=flip%3Dyes', matches: (o) => (o['metadata'] as { labels?: Record<string, string> }).labels?.['flip'] === 'yes' };
const all: Selector = { query: '', matches: () => true };

/**
 * a: created matching (2), flips out (3), flips back in (5), deleted while matching (8)
 * b: created not matching (4), flips in (6), flips out (7), deleted while not matching (9)
 * c: created matching (10), updated matching (11)
 */
function history(): StoreHistory {
  const events: StoreEvent[] = [];
  const current = new Map<string, JsonObject>();
  const put = (rev: number, name: string, flip: string): void => {
    const object = podObject(name, flip, rev);
    events.push({ rev, key: `ns/${name}`, type: 'put', object, prev: current.get(name) ?? null });
    current.set(name, object);
  };
  const del = (rev: number, name: string): void => {
    events.push({ rev, key: `ns/${name}`, type: 'delete', object: null, prev: current.get(name)! });
    current.delete(name);
  };
  put(2, 'a', 'yes');
  put(3, 'a', 'no');
  put(4, 'b', 'no');
  put(5, 'a', 'yes');
  put(6, 'b', 'yes');
  put(7, 'b', 'no');
  del(8, 'a');
  del(9, 'b');
  put(10, 'c', 'yes');
  put(11, 'c', 'yes');
  return new StoreHistory(events);
}

function bookmark(rv: number): WatcherLogEntry {
  return { kind: 'event', type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: String(rv) } } };
}

/** A correct log: LIST at `listRV`, then one watch from there delivering everything expected. */
function cleanLog(h: StoreHistory, selector: Selector, listRV = 1): WatcherLogEntry[] {
  const items = [...h.stateAt(listRV).values()].filter((o) => selector.matches(o));
  const log: WatcherLogEntry[] = [{ kind: 'list', rv: listRV, items }, { kind: 'watch', from: listRV, server: 's1' }];
  for (const e of h.expected(selector, listRV)) log.push({ kind: 'event', type: e.type, object: e.object });
  return log;
}

function eventIndexAt(log: WatcherLogEntry[], rv: number): number {
  const i = log.findIndex((e) => e.kind === 'event' && e.object['metadata'] !== undefined && (e.object['metadata'] as JsonObject)['resourceVersion'] === String(rv));
  if (i < 0) throw new Error(`no event at ${rv}`);
  return i;
}

describe('history checker', () => {
  it('expects ADDED and DELETED on selector flips, the previous state at the event RV on a flip out, and nothing for non-matching changes', () => {
    const expected = history().expected(yes, 1);
    expect(expected.map((e) => `${e.type} ${e.key}@${e.rev}`)).toEqual([
      'ADDED ns/a@2',
      'DELETED ns/a@3',
      'ADDED ns/a@5',
      'ADDED ns/b@6',
      'DELETED ns/b@7',
      'DELETED ns/a@8',
      'ADDED ns/c@10',
      'MODIFIED ns/c@11',
    ]);
    // The flip out carries the object as it was (flip=yes) at the flip's RV.
    expect(expected[1]!.object).toEqual(atRevision(podObject('a', 'yes', 2), 3));
  });

  it('passes a clean history, with bookmarks, a resume from the last RV and a relist', () => {
    const h = history();
    for (const selector of [yes, all]) {
      const result = checkWatcher('clean', selector, cleanLog(h, selector), h);
      expect(formatDefects(result.defects)).toBe('');
      expect(result.state).toEqual(new Map([...h.stateAt(11)].filter(([, o]) => selector.matches(o))));
    }
    // Watch to RV 5, bookmark at 5, connection lost, resume from 5; later a 410 and a relist at 9.
    const e = h.expected(yes, 1);
    const log: WatcherLogEntry[] = [
      { kind: 'list', rv: 1, items: [] },
      { kind: 'watch', from: 1, server: 's1' },
      ...e.filter((x) => x.rev <= 5).map((x): WatcherLogEntry => ({ kind: 'event', type: x.type, object: x.object })),
      bookmark(5),
      { kind: 'watch', from: 5, server: 's2' },
      ...e.filter((x) => x.rev > 5 && x.rev <= 7).map((x): WatcherLogEntry => ({ kind: 'event', type: x.type, object: x.object })),
      { kind: 'event', type: 'ERROR', object: { kind: 'Status', code: 410 } },
      { kind: 'list', rv: 9, items: [] },
      { kind: 'watch', from: 9, server: 's2' },
      ...e.filter((x) => x.rev > 9).map((x): WatcherLogEntry => ({ kind: 'event', type: x.type, object: x.object })),
    ];
    const result = checkWatcher('resumed', yes, log, h);
    expect(formatDefects(result.defects)).toBe('');
    expect(result.relists).toBe(2);
    expect(result.resumes).toBe(3);
    expect([...result.state.keys()]).toEqual(['ns/c']);
  });

  it('catches a dropped event', () => {
    const h = history();
    const log = cleanLog(h, yes);
    log.splice(eventIndexAt(log, 5), 1);
    const { defects } = checkWatcher('w1', yes, log, h);
    expect(defects).toHaveLength(1);
    expect(defects[0]).toMatchObject({ watcher: 'w1', rv: 6, expected: 'ADDED ns/a@5', got: 'ADDED ns/b@6' });
    expect(defects[0]!.message).toMatch(/^gap: 1 expected event\(s\) missing/);
  });

  it('catches a dropped last event through the final state or a later bookmark', () => {
    const h = history();
    const log = cleanLog(h, yes);
    log.splice(eventIndexAt(log, 11), 1);
    log.push(bookmark(12));
    const { defects } = checkWatcher('w1', yes, log, h);
    expect(defects).toHaveLength(1);
    expect(defects[0]).toMatchObject({ rv: 12, expected: 'MODIFIED ns/c@11' });
    expect(defects[0]!.message).toMatch(/bookmark at RV 12 skips expected events/);
  });

  it('catches a duplicate', () => {
    const h = history();
    const log = cleanLog(h, yes);
    const i = eventIndexAt(log, 6);
    log.splice(i + 1, 0, log[i]!);
    const { defects } = checkWatcher('w1', yes, log, h);
    expect(defects).toHaveLength(1);
    expect(defects[0]).toMatchObject({ rv: 6, expected: 'DELETED ns/b@7', got: 'ADDED ns/b@6' });
    expect(defects[0]!.message).toMatch(/^duplicate/);
  });

  it('catches a replay of an older event after a resume (a duplicate across connections)', () => {
    const h = history();
    const e = h.expected(yes, 1);
    const log: WatcherLogEntry[] = [
      { kind: 'list', rv: 1, items: [] },
      { kind: 'watch', from: 1, server: 's1' },
      ...e.filter((x) => x.rev <= 5).map((x): WatcherLogEntry => ({ kind: 'event', type: x.type, object: x.object })),
      { kind: 'watch', from: 5, server: 's1' },
      // The server replays RV 5, which the client already had.
      ...e.filter((x) => x.rev >= 5).map((x): WatcherLogEntry => ({ kind: 'event', type: x.type, object: x.object })),
    ];
    const { defects } = checkWatcher('w1', yes, log, h);
    expect(defects).toHaveLength(1);
    expect(defects[0]).toMatchObject({ rv: 5, expected: 'ADDED ns/b@6', got: 'ADDED ns/a@5' });
    expect(defects[0]!.message).toMatch(/^out of order/);
  });

  it('catches a reorder', () => {
    const h = history();
    const log = cleanLog(h, yes);
    const i = eventIndexAt(log, 6);
    [log[i], log[i + 1]] = [log[i + 1]!, log[i]!];
    const { defects } = checkWatcher('w1', yes, log, h);
    expect(defects).toHaveLength(1);
    expect(defects[0]).toMatchObject({ rv: 7, expected: 'ADDED ns/b@6', got: 'DELETED ns/b@7' });
    expect(defects[0]!.message).toMatch(/^gap/);
  });

  it('catches a wrong type on a match flip (MODIFIED instead of DELETED or ADDED)', () => {
    const h = history();
    for (const [rv, wrong, right] of [
      [3, 'MODIFIED', 'DELETED'],
      [6, 'MODIFIED', 'ADDED'],
      [8, 'MODIFIED', 'DELETED'],
    ] as const) {
      const log = cleanLog(h, yes);
      const i = eventIndexAt(log, rv);
      const entry = log[i] as Extract<WatcherLogEntry, { kind: 'event' }>;
      log[i] = { ...entry, type: wrong };
      const { defects } = checkWatcher('w1', yes, log, h);
      expect(defects).toHaveLength(1);
      expect(defects[0]!.rv).toBe(rv);
      expect(defects[0]!.message).toBe(`wrong type: ${wrong} where the selector flip makes it ${right}`);
    }
  });

  it('catches a flip out that carries the new object instead of the previous state', () => {
    const h = history();
    const log = cleanLog(h, yes);
    const i = eventIndexAt(log, 3);
    log[i] = { kind: 'event', type: 'DELETED', object: atRevision(podObject('a', 'no', 3), 3) };
    const { defects } = checkWatcher('w1', yes, log, h);
    expect(defects).toHaveLength(1);
    expect(defects[0]!.message).toBe('wrong object content');
  });

  it('catches a resume from an RV the watcher never saw, and a LIST that differs from the store', () => {
    const h = history();
    const resumed = checkWatcher('w1', yes, [{ kind: 'list', rv: 1, items: [] }, { kind: 'watch', from: 4, server: 's1' }], h);
    expect(resumed.defects.map((d) => d.message)).toEqual(['watch resumed from RV 4, but the last RV seen was 1']);
    const listed = checkWatcher('w1', yes, [{ kind: 'list', rv: 6, items: [] }], h);
    expect(listed.defects).toHaveLength(1);
    expect(listed.defects[0]!.got).toMatch(/missing ns\/a@5; missing ns\/b@6/);
  });

  it('checks that every acknowledged write is in the store at its RV, as acknowledged', () => {
    const h = history();
    expect(h.checkWrite({ op: 'create', key: 'ns/a', rv: 2, object: atRevision(podObject('a', 'yes', 2), 2) })).toBeNull();
    expect(h.checkWrite({ op: 'update', key: 'ns/a', rv: 3, object: atRevision(podObject('a', 'no', 3), 3) })).toBeNull();
    expect(h.checkWrite({ op: 'delete', key: 'ns/a', rv: 8, object: atRevision(podObject('a', 'yes', 5), 8) })).toBeNull();
    expect(h.checkWrite({ op: 'update', key: 'ns/a', rv: 4, object: atRevision(podObject('a', 'no', 4), 4) })).toMatch(/no event for that key at that revision/);
    expect(h.checkWrite({ op: 'update', key: 'ns/c', rv: 11, object: atRevision(podObject('c', 'no', 11), 11) })).toMatch(/differs from the response/);
    expect(h.checkWrite({ op: 'create', key: 'ns/c', rv: 11, object: atRevision(podObject('c', 'yes', 11), 11) })).toMatch(/updated the key/);
  });
});
