/**
 * A history checker for watch streams: given the store's history (the truth) and what each watcher
 * saw over HTTP, it reports every place where a stream was not the gapless, duplicate-free,
 * ordered history of the store filtered by the watcher's selector.
 *
 * Semantics are kube-apiserver's (cacheWatcher.convertToWatchEvent): for each store revision after
 * the watch's resourceVersion, in order, with old = the object before and new = after,
 *   old and new match  -> MODIFIED new
 *   only new matches   -> ADDED new
 *   only old matches   -> DELETED old, carrying the event's resourceVersion
 *   a delete of an object that matched -> DELETED (the previous state at the deletion RV)
 *   nothing matches    -> nothing.
 * A BOOKMARK at RV b promises that every event up to b was sent. After a relist (LIST at RV L) the
 * watcher's state is the LIST and the next watch continues from L.
 *
 * The checker is pure: it is unit tested with injected defects (history-checker.test.ts) and used
 * by the fault suite (faults.test.ts).
 */

export type JsonObject = { [key: string]: unknown };

/** One change of the store under the watched prefix: one key at one revision. */
export interface StoreEvent {
  rev: number;
  /** `namespace/name`. */
  key: string;
  type: 'put' | 'delete';
  /** The stored object after a put (null for a delete). */
  object: JsonObject | null;
  /** The stored object before the change (null when the key did not exist). */
  prev: JsonObject | null;
}

export interface Selector {
  /** What the watcher sends as `labelSelector=` / `fieldSelector=` (empty: everything). */
  readonly query: string;
  /** The checker's own, independent evaluation of the selector. */
  matches(object: JsonObject): boolean;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** What a watcher did and saw, in order. */
export type WatcherLogEntry =
  | { kind: 'list'; rv: number; items: JsonObject[] }
  | { kind: 'watch'; from: number; server: string }
  | { kind: 'event'; type: WatchEventType; object: JsonObject };

/** An acknowledged write: the server answered it with the object at its revision. */
export interface AckedWrite {
  op: 'create' | 'update' | 'delete';
  key: string;
  rv: number;
  /** The response's object (for a delete: the deleted object at the deletion revision). */
  object: JsonObject;
}

export interface Defect {
  watcher: string;
  /** The resourceVersion where the stream went wrong (the event's, or the resume point's). */
  rv: number;
  message: string;
  expected?: string;
  got?: string;
}

export interface ExpectedEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  key: string;
  rev: number;
  object: JsonObject;
}

/** JSON with object keys sorted, so equal objects compare equal whatever the key order. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as JsonObject)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as JsonObject)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

function metadataOf(object: JsonObject): JsonObject {
  const meta = object['metadata'];
  return meta !== null && typeof meta === 'object' ? (meta as JsonObject) : {};
}

export function keyOf(object: JsonObject): string {
  const meta = metadataOf(object);
  return `${String(meta['namespace'] ?? '')}/${String(meta['name'] ?? '')}`;
}

export function rvOf(object: JsonObject): number {
  const rv = metadataOf(object)['resourceVersion'];
  return typeof rv === 'string' && /^[0-9]+$/.test(rv) ? Number(rv) : NaN;
}

/** The object as a watcher or LIST shows it: the stored object with resourceVersion = rev. */
export function atRevision(object: JsonObject, rev: number): JsonObject {
  return { ...object, metadata: { ...metadataOf(object), resourceVersion: String(rev) } };
}

function describe(type: string, object: JsonObject): string {
  return `${type} ${keyOf(object)}@${rvOf(object)}`;
}

function describeExpected(e: ExpectedEvent): string {
  return `${e.type} ${e.key}@${e.rev}`;
}

/** The store's history under one prefix, complete from an empty store. */
export class StoreHistory {
  readonly events: readonly StoreEvent[];

  constructor(events: readonly StoreEvent[]) {
    const sorted = [...events].sort((a, b) => a.rev - b.rev);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.rev === sorted[i - 1]!.rev && sorted[i]!.key === sorted[i - 1]!.key) {
        throw new Error(`store history: two events for ${sorted[i]!.key} at revision ${sorted[i]!.rev}`);
      }
    }
    this.events = sorted;
  }

  get lastRev(): number {
    return this.events.length === 0 ? 0 : this.events[this.events.length - 1]!.rev;
  }

  /** Objects (at their mod revision) that exist after every event up to `rev`. */
  stateAt(rev: number): Map<string, JsonObject> {
    const state = new Map<string, JsonObject>();
    for (const e of this.events) {
      if (e.rev > rev) break;
      if (e.type === 'put') state.set(e.key, atRevision(e.object!, e.rev));
      else state.delete(e.key);
    }
    return state;
  }

  /** The events a watch with `selector` from `afterRev` must deliver, in order. */
  expected(selector: Selector, afterRev: number): ExpectedEvent[] {
    const out: ExpectedEvent[] = [];
    for (const e of this.events) {
      if (e.rev <= afterRev) continue;
      const oldMatches = e.prev !== null && selector.matches(e.prev);
      const newMatches = e.type === 'put' && selector.matches(e.object!);
      if (newMatches) out.push({ type: oldMatches ? 'MODIFIED' : 'ADDED', key: e.key, rev: e.rev, object: atRevision(e.object!, e.rev) });
      else if (oldMatches) out.push({ type: 'DELETED', key: e.key, rev: e.rev, object: atRevision(e.prev!, e.rev) });
    }
    return out;
  }

  /** Null when the write is in the store at its revision, as acknowledged; else why not. */
  checkWrite(write: AckedWrite): string | null {
    const at = this.events.filter((e) => e.rev === write.rv && e.key === write.key);
    const what = `${write.op} of ${write.key} acknowledged at RV ${write.rv}`;
    if (at.length === 0) {
      const near = this.events.filter((e) => e.rev === write.rv).map((e) => `${e.type} ${e.key}`);
      return `${what}: the store has no event for that key at that revision (there: ${near.join(', ') || 'nothing'})`;
    }
    const e = at[0]!;
    if (write.op === 'delete') {
      if (e.type !== 'delete') return `${what}: the store has a ${e.type} there`;
      if (e.prev === null || canonical(atRevision(e.prev, write.rv)) !== canonical(write.object)) {
        return `${what}: the deleted object differs from the store's previous state`;
      }
      return null;
    }
    if (e.type !== 'put') return `${what}: the store has a delete there`;
    if ((write.op === 'create') !== (e.prev === null)) return `${what}: the store ${e.prev === null ? 'created' : 'updated'} the key there`;
    if (canonical(atRevision(e.object!, write.rv)) !== canonical(write.object)) return `${what}: the stored object differs from the response`;
    return null;
  }
}

/** Objects that match `selector`, keyed by `namespace/name`. */
export function filterState(state: ReadonlyMap<string, JsonObject>, selector: Selector): Map<string, JsonObject> {
  const out = new Map<string, JsonObject>();
  for (const [key, object] of state) if (selector.matches(object)) out.set(key, object);
  return out;
}

/** Differences between two states, described; empty when they agree. */
export function diffStates(expected: ReadonlyMap<string, JsonObject>, got: ReadonlyMap<string, JsonObject>, limit = 5): string[] {
  const out: string[] = [];
  for (const [key, object] of expected) {
    const other = got.get(key);
    if (other === undefined) out.push(`missing ${key}@${rvOf(object)}`);
    else if (canonical(other) !== canonical(object)) out.push(`${key}: expected @${rvOf(object)} ${canonical(object)}, got @${rvOf(other)} ${canonical(other)}`);
  }
  for (const [key, object] of got) if (!expected.has(key)) out.push(`unexpected ${key}@${rvOf(object)}`);
  return out.slice(0, limit);
}

/** Classifies a received event that is not the next expected one. */
function classify(got: JsonObject, type: string, expected: readonly ExpectedEvent[], index: number, lastRV: number, previous: string | undefined): string {
  const rv = rvOf(got);
  const key = keyOf(got);
  const next = expected[index];
  if (previous !== undefined && previous === `${type} ${canonical(got)}`) return 'duplicate event (the same event twice in a row)';
  if (rv <= lastRV) return `out of order: RV ${rv} after RV ${lastRV} (a reorder or a replay)`;
  if (next !== undefined && next.rev === rv && next.key === key) {
    if (next.type !== type) return `wrong type: ${type} where the selector flip makes it ${next.type}`;
    return 'wrong object content';
  }
  const later = expected.findIndex((e, i) => i > index && e.rev === rv && e.key === key);
  if (later >= 0) {
    const skipped = expected.slice(index, later).map(describeExpected);
    return `gap: ${skipped.length} expected event(s) missing before it: ${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ', ...' : ''}`;
  }
  return 'an event the store history does not produce for this selector';
}

export interface WatcherCheck {
  defects: Defect[];
  /** The watcher's state replayed from its log (LIST, then events). */
  state: Map<string, JsonObject>;
  /** The last RV the watcher could resume from. */
  lastRV: number;
  events: number;
  relists: number;
  resumes: number;
}

/**
 * Checks one watcher's log against the history. After the first defect in a connection the rest
 * of that connection is not checked (one cause, one report); the next connection is checked again.
 */
export function checkWatcher(name: string, selector: Selector, log: readonly WatcherLogEntry[], history: StoreHistory): WatcherCheck {
  const defects: Defect[] = [];
  const state = new Map<string, JsonObject>();
  let lastRV = 0;
  let expected: ExpectedEvent[] = [];
  let index = 0;
  let connected = false;
  let broken = false;
  let previous: string | undefined;
  let events = 0;
  let relists = 0;
  let resumes = 0;
  const report = (rv: number, message: string, expectedText?: string, gotText?: string): void => {
    defects.push({ watcher: name, rv, message, ...(expectedText === undefined ? {} : { expected: expectedText }), ...(gotText === undefined ? {} : { got: gotText }) });
  };

  for (const entry of log) {
    if (entry.kind === 'list') {
      relists++;
      connected = false;
      const want = filterState(history.stateAt(entry.rv), selector);
      const got = new Map<string, JsonObject>();
      for (const item of entry.items) got.set(keyOf(item), item);
      const diff = diffStates(want, got);
      if (diff.length > 0) report(entry.rv, `LIST at RV ${entry.rv} differs from the store`, `${want.size} objects`, diff.join('; '));
      state.clear();
      for (const [key, object] of got) state.set(key, object);
      lastRV = entry.rv;
      continue;
    }
    if (entry.kind === 'watch') {
      resumes++;
      if (entry.from !== lastRV) report(entry.from, `watch resumed from RV ${entry.from}, but the last RV seen was ${lastRV}`);
      expected = history.expected(selector, entry.from);
      index = 0;
      connected = true;
      broken = false;
      previous = undefined;
      lastRV = entry.from;
      continue;
    }
    if (!connected) {
      report(lastRV, `${entry.type} event outside a watch connection`);
      continue;
    }
    const { type, object } = entry;
    if (broken) {
      // Past the first defect, follow the stream as the client did (its resume point) unchecked.
      if (type !== 'ERROR' && rvOf(object) > lastRV) lastRV = rvOf(object);
      continue;
    }
    if (type === 'ERROR') {
      // The stream ends with it; a 410 is followed by a relist (a 'list' entry), others by a resume.
      continue;
    }
    const rv = rvOf(object);
    if (type === 'BOOKMARK') {
      if (!(rv >= lastRV)) {
        report(rv, `bookmark RV ${rv} goes back from RV ${lastRV}`);
        broken = true;
        continue;
      }
      const owed = expected[index];
      if (owed !== undefined && owed.rev <= rv) {
        report(rv, `bookmark at RV ${rv} skips expected events`, describeExpected(owed), `BOOKMARK @${rv}`);
        broken = true;
        continue;
      }
      lastRV = rv;
      continue;
    }
    events++;
    const want = expected[index];
    const fingerprint = `${type} ${canonical(object)}`;
    if (want === undefined || want.type !== type || want.rev !== rv || want.key !== keyOf(object) || canonical(want.object) !== canonical(object)) {
      report(rv, classify(object, type, expected, index, lastRV, previous), want === undefined ? 'no more events' : describeExpected(want), describe(type, object));
      broken = true;
      continue;
    }
    index++;
    previous = fingerprint;
    lastRV = rv;
    const key = keyOf(object);
    if (type === 'DELETED') state.delete(key);
    else state.set(key, object);
  }
  return { defects, state, lastRV, events, relists, resumes };
}

/** One line per defect, for test failure messages. */
export function formatDefects(defects: readonly Defect[], limit = 20): string {
  const lines = defects.slice(0, limit).map((d) => `${d.watcher} @RV ${d.rv}: ${d.message}${d.expected === undefined ? '' : `; expected ${d.expected}`}${d.got === undefined ? '' : `; got ${d.got}`}`);
  if (defects.length > limit) lines.push(`... and ${defects.length - limit} more`);
  return lines.join('\n');
}
