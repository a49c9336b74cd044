/**
 * Sets of field paths, as structured-merge-diff (server-side apply) keeps them: a tree whose
 * edges are path elements in FieldsV1 spelling — `f:<field>`, `k:{"name":"x"}` (an element of a
 * map list, by its keys in name order), `v:<json>` (an element of a set), `i:<n>` (by index) —
 * and whose nodes say whether the path itself is in the set (`.` in FieldsV1 when it also has
 * children). Walks over objects (what a value owns, what changed between two values) live here.
 *
 * Every walk recurses once per nesting level; the values come from bodies and stored objects
 * whose depth is checked (MAX_JSON_DEPTH) before they reach it, and the walks check it again.
 */
import { ErrorCodes } from '../../errors.js';
import { ApiError } from '../api-error.js';
import { isJsonObject, MAX_JSON_DEPTH, type JsonObject } from '../body.js';
import { deepEqual, setOwn } from '../patch.js';
import { childSchema, type ListSchema, type Schema } from './type-info.js';

const NO_CHILDREN: ReadonlyMap<string, FieldSet> = new Map();

export class FieldSet {
  member = false;
  /** Most nodes are leaves: their map is made on the first child. */
  #children: Map<string, FieldSet> | undefined;

  get children(): ReadonlyMap<string, FieldSet> {
    return this.#children ?? NO_CHILDREN;
  }

  get empty(): boolean {
    return !this.member && this.children.size === 0;
  }

  child(element: string): FieldSet {
    this.#children ??= new Map();
    let c = this.#children.get(element);
    if (c === undefined) {
      c = new FieldSet();
      this.#children.set(element, c);
    }
    return c;
  }

  union(other: FieldSet): FieldSet {
    const out = this.copy();
    const work: Array<[FieldSet, FieldSet]> = [[out, other]];
    while (work.length > 0) {
      const [a, b] = work.pop()!;
      if (b.member) a.member = true;
      for (const [k, c] of b.children) work.push([a.child(k), c]);
    }
    return out;
  }

  /** The members of this set that are members of `other` too. */
  intersection(other: FieldSet): FieldSet {
    const out = new FieldSet();
    const work: Array<[FieldSet, FieldSet, FieldSet]> = [[out, this, other]];
    while (work.length > 0) {
      const [o, a, b] = work.pop()!;
      if (a.member && b.member) o.member = true;
      for (const [k, c] of a.children) {
        const d = b.children.get(k);
        if (d !== undefined) work.push([o.child(k), c, d]);
      }
    }
    return out.pruned();
  }

  /** The members of this set that are not members of `other`. */
  difference(other: FieldSet): FieldSet {
    const out = this.copy();
    const work: Array<[FieldSet, FieldSet]> = [[out, other]];
    while (work.length > 0) {
      const [a, b] = work.pop()!;
      if (b.member) a.member = false;
      for (const [k, c] of b.children) {
        const d = a.children.get(k);
        if (d !== undefined) work.push([d, c]);
      }
    }
    return out.pruned();
  }

  copy(): FieldSet {
    const out = new FieldSet();
    const work: Array<[FieldSet, FieldSet]> = [[out, this]];
    while (work.length > 0) {
      const [a, b] = work.pop()!;
      a.member = b.member;
      for (const [k, c] of b.children) work.push([a.child(k), c]);
    }
    return out;
  }

  /** Drops subtrees without members (after a difference or intersection). */
  pruned(): FieldSet {
    const post: FieldSet[] = [];
    const work: FieldSet[] = [this];
    while (work.length > 0) {
      const n = work.pop()!;
      post.push(n);
      for (const c of n.children.values()) work.push(c);
    }
    for (let i = post.length - 1; i >= 0; i--) {
      const n = post[i]!;
      for (const [k, c] of n.children) if (c.empty) n.#children!.delete(k);
    }
    return this;
  }

  /** Every member path, in tree order. */
  paths(): string[][] {
    const out: string[][] = [];
    const work: Array<[FieldSet, string[]]> = [[this, []]];
    while (work.length > 0) {
      const [n, path] = work.pop()!;
      if (n.member) out.push(path);
      const entries = [...n.children].sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0));
      for (const [k, c] of entries) work.push([c, [...path, k]]);
    }
    return out;
  }

  /** The FieldsV1 JSON of this set. */
  toFieldsV1(): JsonObject {
    const root: JsonObject = {};
    const work: Array<[FieldSet, JsonObject]> = [[this, root]];
    while (work.length > 0) {
      const [n, out] = work.pop()!;
      if (n.member && n.children.size > 0) out['.'] = {};
      for (const k of [...n.children.keys()].sort()) {
        const o: JsonObject = {};
        setOwn(out, k, o);
        work.push([n.children.get(k)!, o]);
      }
    }
    return root;
  }

  static fromFieldsV1(json: unknown): FieldSet {
    const out = new FieldSet();
    if (!isJsonObject(json)) return out;
    const work: Array<[FieldSet, JsonObject, number]> = [[out, json, 0]];
    while (work.length > 0) {
      const [n, o, depth] = work.pop()!;
      if (depth > MAX_JSON_DEPTH) break;
      const keys = Object.keys(o);
      if (keys.length === 0 && n !== out) n.member = true;
      for (const k of keys) {
        if (k === '.') n.member = true;
        else work.push([n.child(k), isJsonObject(o[k]) ? (o[k] as JsonObject) : {}, depth + 1]);
      }
    }
    return out;
  }
}

/**
 * A path being walked, made a node of a set only when something is inserted under it: a walk
 * costs one step per value, not one per value and level.
 */
class Path {
  /** The node of this path in each set it was inserted into (a walk fills at most three). */
  readonly #sets: FieldSet[] = [];
  readonly #nodes: FieldSet[] = [];
  constructor(
    readonly parent: Path | undefined,
    readonly element: string,
  ) {}

  to(element: string): Path {
    return new Path(this, element);
  }

  insertInto(set: FieldSet): void {
    this.#nodeIn(set).member = true;
  }

  #nodeIn(set: FieldSet): FieldSet {
    if (this.parent === undefined) return set;
    const i = this.#sets.indexOf(set);
    if (i >= 0) return this.#nodes[i]!;
    const node = this.parent.#nodeIn(set).child(this.element);
    this.#sets.push(set);
    this.#nodes.push(node);
    return node;
  }
}

/** A path as kube prints it in conflicts: `.spec.containers[name="app"].image`. */
export function pathString(path: readonly string[]): string {
  return path
    .map((element) => {
      const body = element.slice(2);
      switch (element.slice(0, 2)) {
        case 'f:':
          return `.${body}`;
        case 'k:': {
          const key = JSON.parse(body) as JsonObject;
          return `[${Object.keys(key)
            .map((k) => `${k}=${JSON.stringify(key[k])}`)
            .join(',')}]`;
        }
        case 'v:':
          return `[=${body}]`;
        default:
          return `[${body}]`;
      }
    })
    .join('');
}

export function tooDeep(): ApiError {
  return new ApiError(ErrorCodes.INVALID_OBJECT, `the object is nested more than ${MAX_JSON_DEPTH} levels deep`);
}

/**
 * Key fields that kube defaults, so an element that omits them still has its key (a container
 * port's protocol is TCP unless said otherwise: `+default="TCP"` in k8s.io/api).
 */
const KEY_DEFAULTS: Readonly<Record<string, unknown>> = { protocol: 'TCP' };

const sortedKeys = new WeakMap<ListSchema, readonly string[]>();

/** The path element of a list item, or throws 422 when a map list's element lacks its keys. */
export function itemElement(list: ListSchema, item: unknown, index: number): string {
  if (list.listType === 'set') return `v:${JSON.stringify(item)}`;
  if (list.listType !== 'map' || !isJsonObject(item)) return `i:${index}`;
  let names = sortedKeys.get(list);
  if (names === undefined) {
    names = [...list.keys].sort();
    sortedKeys.set(list, names);
  }
  // `k:` and the keys as a JSON object in name order, written without building one.
  let out = 'k:{';
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const value = Object.hasOwn(item, name) ? item[name] : KEY_DEFAULTS[name];
    if (value === undefined) {
      throw new ApiError(ErrorCodes.INVALID_OBJECT, `an element of a list keyed by ${list.keys.join(', ')} omits the key field ${JSON.stringify(name)}`);
    }
    out += `${i === 0 ? '' : ','}${JSON.stringify(name)}:${JSON.stringify(value)}`;
  }
  return `${out}}`;
}

/** The schema kind a value is walked as: untyped objects are maps, untyped arrays atomic. */
type Walk = 'leaf' | 'struct' | 'map' | 'list';

export function walkKind(schema: Schema, value: unknown): Walk {
  if (Array.isArray(value)) return schema.kind === 'list' && schema.listType !== 'atomic' ? 'list' : 'leaf';
  if (!isJsonObject(value)) return 'leaf';
  if (schema.kind === 'struct') return schema.atomic ? 'leaf' : 'struct';
  if (schema.kind === 'map') return schema.atomic ? 'leaf' : 'map';
  return schema.kind === 'untyped' ? 'map' : 'leaf';
}

/** Whether `key` under a value walked as `kind` is a struct's field (not itself a member). */
export function isStructField(schema: Schema, key: string): boolean {
  return schema.kind === 'struct' && schema.field(key) !== undefined;
}

/** The fields `value` sets (structured-merge-diff's ToFieldSet). */
export function fieldsOf(value: unknown, schema: Schema): FieldSet {
  const out = new FieldSet();
  const visit = (v: unknown, s: Schema, path: Path, depth: number): void => {
    if (depth > MAX_JSON_DEPTH) throw tooDeep();
    switch (walkKind(s, v)) {
      case 'leaf':
        path.insertInto(out);
        return;
      case 'list': {
        const list = s as ListSchema;
        (v as unknown[]).forEach((item, i) => {
          const p = path.to(itemElement(list, item, i));
          visit(item, list.items, p, depth + 1);
          p.insertInto(out);
        });
        return;
      }
      default:
        for (const key of Object.keys(v as JsonObject)) {
          const item = (v as JsonObject)[key];
          const p = path.to(`f:${key}`);
          visit(item, childSchema(s, key), p, depth + 1);
          if (item === null || (isJsonObject(item) && Object.keys(item).length === 0) || !isStructField(s, key)) p.insertInto(out);
        }
    }
  };
  visit(value, schema, new Path(undefined, ''), 0);
  return out;
}

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** What changed from `before` to `after` (structured-merge-diff's Compare). */
export function compare(before: unknown, after: unknown, schema: Schema): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  const leaf = (l: unknown, r: unknown, path: Path): void => {
    if (l === undefined) path.insertInto(c.added);
    else if (r === undefined) path.insertInto(c.removed);
    else if (!deepEqual(l, r)) path.insertInto(c.modified);
  };
  const visit = (l: unknown, r: unknown, s: Schema, path: Path, depth: number): void => {
    if (depth > MAX_JSON_DEPTH) throw tooDeep();
    const lk = l === undefined ? undefined : walkKind(s, l);
    const rk = r === undefined ? undefined : walkKind(s, r);
    const kind = lk ?? rk!;
    const bothEmpty = isEmptyContainer(l) && isEmptyContainer(r);
    if (kind === 'leaf' || (lk !== undefined && rk !== undefined && lk !== rk) || bothEmpty) {
      leaf(l, r, path);
      return;
    }
    if (kind === 'list') {
      const list = s as ListSchema;
      const index = (v: unknown): Map<string, unknown> => {
        const m = new Map<string, unknown>();
        if (Array.isArray(v)) v.forEach((item, i) => m.set(itemElement(list, item, i), item));
        return m;
      };
      const li = index(l);
      const ri = index(r);
      for (const [pe, item] of li) visit(item, ri.get(pe), list.items, path.to(pe), depth + 1);
      for (const [pe, item] of ri) if (!li.has(pe)) visit(undefined, item, list.items, path.to(pe), depth + 1);
    } else {
      const lo = isJsonObject(l) ? l : {};
      const ro = isJsonObject(r) ? r : {};
      for (const key of Object.keys(lo)) visit(lo[key], Object.hasOwn(ro, key) ? ro[key] : undefined, childSchema(s, key), path.to(`f:${key}`), depth + 1);
      for (const key of Object.keys(ro)) if (!Object.hasOwn(lo, key)) visit(undefined, ro[key], childSchema(s, key), path.to(`f:${key}`), depth + 1);
    }
    // A container that appeared or went away is itself added or removed, except a struct field
    // (kube compares Go values, where a non-pointer struct is always there).
    if (path.parent !== undefined && !(s.kind === 'struct' && path.element.startsWith('f:'))) {
      if (l === undefined) path.insertInto(c.added);
      else if (r === undefined) path.insertInto(c.removed);
    }
  };
  visit(before, after, schema, new Path(undefined, ''), 0);
  return c;
}

function isEmptyContainer(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  return isJsonObject(v) && Object.keys(v).length === 0;
}
