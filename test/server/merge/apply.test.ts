/**
 * Server-side apply and field ownership as structured-merge-diff defines them: what a
 * configuration owns (FieldsV1), how it merges per list type, conflicts in kube-apiserver's words,
 * force, removal of what a manager stops applying, and the Update managers of other writes.
 */
import { describe, expect, it } from 'vitest';
import { WatchCacheError } from '../../../src/errors.js';
import type { ApiError } from '../../../src/server/api-error.js';
import { recordUpdate, serverSideApply as ssa, type FieldManagement } from '../../../src/server/merge/apply.js';
import { FieldSet, fieldsOf, pathString } from '../../../src/server/merge/field-set.js';
import { kindSchema, UNTYPED, type Schema } from '../../../src/server/merge/type-info.js';
import { defineResource } from '../../../src/server/registry.js';

const pod = kindSchema('v1', 'Pod')!;
const as = (manager: string, now = '2026-01-01T00:00:00Z'): FieldManagement => ({ schema: pod, apiVersion: 'v1', kind: 'Pod', manager, now });

function thrown(f: () => unknown): ApiError {
  try {
    f();
  } catch (err) {
    if (err instanceof WatchCacheError) return err as ApiError;
    throw err;
  }
  throw new Error('did not throw');
}

type Obj = Record<string, any>;
const serverSideApply = (...args: Parameters<typeof ssa>): Obj => ssa(...args);
const managers = (o: Obj): Array<[string, string]> => (o.metadata.managedFields as Obj[]).map((m) => [m.manager, m.operation]);
const fieldsOfManager = (o: Obj, manager: string): unknown => (o.metadata.managedFields as Obj[]).find((m) => m.manager === manager)!.fieldsV1;

describe('field sets', () => {
  it('a configuration owns its leaves, its list elements by key or value, atomic values whole', () => {
    const set = fieldsOf(
      {
        metadata: { labels: { app: 'web' }, finalizers: ['a/b'] },
        spec: {
          containers: [{ name: 'app', image: 'nginx', ports: [{ containerPort: 80 }], command: ['sh', '-c'] }],
          volumes: [{ name: 'v', emptyDir: {} }],
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } },
        },
      },
      pod,
    );
    expect(set.toFieldsV1()).toEqual({
      'f:metadata': { 'f:finalizers': { 'v:"a/b"': {} }, 'f:labels': { 'f:app': {} } },
      'f:spec': {
        'f:affinity': { 'f:nodeAffinity': { 'f:requiredDuringSchedulingIgnoredDuringExecution': {} } },
        'f:containers': {
          'k:{"name":"app"}': {
            '.': {},
            'f:command': {},
            'f:image': {},
            'f:name': {},
            // A container port's key includes its protocol, TCP unless said.
            'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
          },
        },
        'f:volumes': { 'k:{"name":"v"}': { '.': {}, 'f:emptyDir': {}, 'f:name': {} } },
      },
    });
  });

  it('FieldsV1 round-trips, and paths print as kube prints them in conflicts', () => {
    const json = { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {} } } }, 'f:metadata': { 'f:finalizers': { 'v:"x"': {} } } };
    const set = FieldSet.fromFieldsV1(json);
    expect(set.toFieldsV1()).toEqual(json);
    expect(set.paths().map(pathString)).toEqual(['.metadata.finalizers[="x"]', '.spec.containers[name="app"]', '.spec.containers[name="app"].image']);
  });

  it('custom resources: maps field by field, lists atomic', () => {
    expect(fieldsOf({ spec: { color: 'red', ports: [{ port: 1 }] } }, UNTYPED).toFieldsV1()).toEqual({ 'f:spec': { '.': {}, 'f:color': {}, 'f:ports': {} } });
  });
});

describe('server-side apply', () => {
  const config = (image: string, extra: Obj = {}): Obj => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default' },
    spec: { containers: [{ name: 'app', image }], ...extra },
  });

  it('creates: the applier owns what it applied; identity fields are no one’s', () => {
    const out = serverSideApply(undefined, config('nginx:1'), as('a'), false);
    expect(out.spec).toEqual({ containers: [{ name: 'app', image: 'nginx:1' }] });
    expect(out.metadata.managedFields).toEqual([
      {
        manager: 'a',
        operation: 'Apply',
        apiVersion: 'v1',
        time: '2026-01-01T00:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:name': {} } } } },
      },
    ]);
  });

  it('a second manager applying the same value co-owns it; a different value is a 409 naming the owner', () => {
    const live = serverSideApply(undefined, config('nginx:1'), as('a'), false);
    const shared = serverSideApply(live, config('nginx:1'), as('b'), false);
    expect(managers(shared)).toEqual([
      ['a', 'Apply'],
      ['b', 'Apply'],
    ]);
    const err = thrown(() => serverSideApply(live, config('nginx:2'), as('b'), false));
    expect(err.code).toBe('WC_ERR_CONFLICT');
    expect(err.message).toBe('Apply failed with 1 conflict: conflict with "a": .spec.containers[name="app"].image');
    expect(err.statusDetails?.causes).toEqual([{ reason: 'FieldManagerConflict', message: 'conflict with "a"', field: '.spec.containers[name="app"].image' }]);
  });

  it('several conflicts: one line per field, under each manager, as kube-apiserver words them', () => {
    const live = serverSideApply(undefined, config('nginx:1', { hostname: 'h' }), as('a'), false);
    const err = thrown(() => serverSideApply(live, config('nginx:2', { hostname: 'other' }), as('b'), false));
    expect(err.message).toBe('Apply failed with 2 conflicts: conflicts with "a":\n- .spec.containers[name="app"].image\n- .spec.hostname');
  });

  it('force takes the field over: the other manager no longer owns it', () => {
    const live = serverSideApply(undefined, config('nginx:1', { hostname: 'h' }), as('a'), false);
    const out = serverSideApply(live, config('nginx:2'), as('b'), true);
    expect(out.spec.containers).toEqual([{ name: 'app', image: 'nginx:2' }]);
    expect(fieldsOfManager(out, 'a')).toEqual({ 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:name': {} } }, 'f:hostname': {} } });
  });

  it('what a manager stops applying is removed, unless another manager owns it', () => {
    let live = serverSideApply(undefined, config('nginx:1', { hostname: 'h', subdomain: 's' }), as('a'), false);
    live = serverSideApply(live, { ...config('nginx:1'), spec: { subdomain: 's' } }, as('b'), false);
    const out = serverSideApply(live, config('nginx:1'), as('a'), false);
    expect(out.spec).toEqual({ containers: [{ name: 'app', image: 'nginx:1' }], subdomain: 's' });
  });

  it('map lists merge by key, sets by value, atomic lists are replaced', () => {
    let live = serverSideApply(undefined, { ...config('x'), metadata: { name: 'p', finalizers: ['f1'] }, spec: { containers: [{ name: 'a', image: 'x' }], tolerations: [{ key: 'k1' }] } }, as('a'), false);
    live = serverSideApply(live, { ...config('x'), metadata: { name: 'p', finalizers: ['f2'] }, spec: { containers: [{ name: 'b', image: 'y' }], tolerations: [{ key: 'k2' }] } }, as('b'), true);
    expect(live.metadata.finalizers).toEqual(['f1', 'f2']);
    expect(live.spec.containers).toEqual([
      { name: 'a', image: 'x' },
      { name: 'b', image: 'y' },
    ]);
    expect(live.spec.tolerations).toEqual([{ key: 'k2' }]);
  });

  it('custom resources: an applied list replaces the live one whole', () => {
    const cr = (ports: number[], manager: string, live?: Obj): Obj =>
      serverSideApply(
        live,
        { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { ports } },
        { schema: UNTYPED, apiVersion: 'example.com/v1', kind: 'Widget', manager, now: 't' },
        true,
      );
    expect(cr([2], 'b', cr([1], 'a')).spec.ports).toEqual([2]);
  });

  it('an applied configuration may not carry managedFields', () => {
    expect(thrown(() => serverSideApply(undefined, { ...config('x'), metadata: { name: 'p', managedFields: [] } }, as('a'), false)).code).toBe('WC_ERR_BAD_REQUEST');
  });
});

describe('Update managers', () => {
  it('a write owns what it adds or changes; others lose what it changes', () => {
    const created: Obj = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { a: '1' } }, spec: { hostname: 'h' } };
    recordUpdate(undefined, created, as('creator', 't1'));
    expect(created.metadata.managedFields).toEqual([
      {
        manager: 'creator',
        operation: 'Update',
        apiVersion: 'v1',
        time: 't1',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:a': {} } }, 'f:spec': { 'f:hostname': {} } },
      },
    ]);
    const next = structuredClone(created);
    next.spec.hostname = 'other';
    recordUpdate(created, next, as('editor', 't2'));
    expect(fieldsOfManager(next, 'creator')).toEqual({ 'f:metadata': { 'f:labels': { '.': {}, 'f:a': {} } } });
    expect(fieldsOfManager(next, 'editor')).toEqual({ 'f:spec': { 'f:hostname': {} } });
  });

  it('a write that changes nothing leaves managedFields as they were; an empty list clears them', () => {
    const created: Obj = { metadata: { name: 'p' }, spec: { hostname: 'h' } };
    recordUpdate(undefined, created, as('creator', 't1'));
    const same = structuredClone(created);
    recordUpdate(created, same, as('creator', 't2'));
    expect(same.metadata.managedFields).toEqual(created.metadata.managedFields);
    const cleared = { ...structuredClone(created), metadata: { name: 'p', managedFields: [] } };
    recordUpdate(created, cleared, as('x'));
    expect(cleared.metadata.managedFields).toBeUndefined();
  });
});

describe('custom resource schemas', () => {
  it('the resources file takes a CRD schema and refuses a map list without keys', () => {
    const base = { group: 'example.com', version: 'v1', kind: 'Thing', plural: 'things', namespaced: true };
    const bad = { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'array', 'x-kubernetes-list-type': 'map' } } } };
    expect(() => defineResource({ ...base, schema: bad })).toThrow(/x-kubernetes-list-map-keys: must name the keys/);
    expect(() => defineResource({ ...base, schema: { type: 'object' } })).toThrow(/openAPIV3Schema/);
    expect(defineResource({ ...base, schema: { openAPIV3Schema: { type: 'object' } } }).mergeSchema).toBeDefined();
  });
});

/**
 * structured-merge-diff's own cases (merge/leaf_test.go and merge/set_test.go, same API version):
 * a sequence of applies and updates by named managers, then the object and each manager's
 * fields. Their type is the object's `spec` here, so paths print under `.spec`.
 */
type Op = { apply?: string; forceApply?: string; update?: string; spec: Obj; conflicts?: string };
interface SequenceCase {
  name: string;
  ops: Op[];
  spec: Obj;
  managed: Record<string, string[]>;
}

function runSequences(type: Schema, cases: SequenceCase[]): void {
  const root: Schema = { kind: 'struct', name: 'root', atomic: false, field: (f) => (f === 'spec' ? type : undefined) };
  for (const c of cases) {
    it(c.name, () => {
      let live: Obj | undefined;
      for (const op of c.ops) {
        const manager = op.apply ?? op.forceApply ?? op.update!;
        const o: FieldManagement = { schema: root, apiVersion: 'v1', kind: 'Leaf', manager, now: 't' };
        // An empty object of the type is an object without spec here (an empty spec would be owned).
        const object = { apiVersion: 'v1', kind: 'Leaf', metadata: { name: 'x' }, ...(Object.keys(op.spec).length === 0 ? {} : { spec: op.spec }) };
        if (op.update !== undefined) {
          const next = { ...object, metadata: { ...(live?.metadata ?? { name: 'x' }) } };
          recordUpdate(live, next, o);
          live = next;
        } else if (op.conflicts !== undefined) {
          expect(thrown(() => serverSideApply(live, object, o, false)).message).toBe(op.conflicts);
        } else {
          live = serverSideApply(live, object, o, op.forceApply !== undefined);
        }
      }
      expect(live!.spec ?? {}).toEqual(c.spec);
      const got: Record<string, string[]> = {};
      for (const m of (live!.metadata.managedFields ?? []) as Obj[]) got[m.manager] = FieldSet.fromFieldsV1(m.fieldsV1).paths().map(pathString);
      expect(got).toEqual(c.managed);
    });
  }
}

describe("structured-merge-diff's leaf cases", () => {
  const leaf: Schema = { kind: 'scalar' };
  const leafFields: Schema = { kind: 'struct', name: 'leafFields', atomic: false, field: (f) => (['numeric', 'string', 'bool'].includes(f) ? leaf : undefined) };
  runSequences(leafFields, [
    {
      name: 'apply_twice',
      ops: [
        { apply: 'default', spec: { numeric: 1, string: 'string' } },
        { apply: 'default', spec: { numeric: 2, string: 'string', bool: false } },
      ],
      spec: { numeric: 2, string: 'string', bool: false },
      managed: { default: ['.spec.bool', '.spec.numeric', '.spec.string'] },
    },
    {
      name: 'apply_update_apply_no_conflict',
      ops: [
        { apply: 'default', spec: { numeric: 1, string: 'string' } },
        { update: 'controller', spec: { numeric: 1, string: 'string', bool: true } },
        { apply: 'default', spec: { numeric: 2, string: 'string' } },
      ],
      spec: { numeric: 2, string: 'string', bool: true },
      managed: { default: ['.spec.numeric', '.spec.string'], controller: ['.spec.bool'] },
    },
    {
      name: 'apply_update_apply_with_conflict',
      ops: [
        { apply: 'default', spec: { numeric: 1, string: 'string' } },
        { update: 'controller', spec: { numeric: 1, string: 'controller string', bool: true } },
        { apply: 'default', spec: { numeric: 2, string: 'user string' }, conflicts: 'Apply failed with 1 conflict: conflict with "controller" using v1: .spec.string' },
        { forceApply: 'default', spec: { numeric: 2, string: 'user string' } },
      ],
      spec: { numeric: 2, string: 'user string', bool: true },
      managed: { default: ['.spec.numeric', '.spec.string'], controller: ['.spec.bool'] },
    },
    {
      name: 'apply_twice_remove',
      ops: [
        { apply: 'default', spec: { numeric: 1, string: 'string', bool: false } },
        { apply: 'default', spec: { string: 'new string' } },
      ],
      spec: { string: 'new string' },
      managed: { default: ['.spec.string'] },
    },
    {
      name: 'update_apply_omits',
      ops: [
        { apply: 'default', spec: { numeric: 2 } },
        { update: 'controller', spec: { numeric: 1 } },
        { apply: 'default', spec: {} },
      ],
      spec: { numeric: 1 },
      managed: { controller: ['.spec.numeric'] },
    },
    {
      name: 'update_remove_empty_set',
      ops: [
        { apply: 'default', spec: { string: 'string' } },
        { update: 'controller', spec: { string: 'new string' } },
      ],
      spec: { string: 'new string' },
      managed: { controller: ['.spec.string'] },
    },
    {
      name: 'apply_remove_empty_set',
      ops: [
        { apply: 'default', spec: { string: 'string' } },
        { apply: 'default', spec: {} },
      ],
      spec: {},
      managed: {},
    },
  ]);
});

describe("structured-merge-diff's set cases", () => {
  const sets: Schema = {
    kind: 'struct',
    name: 'sets',
    atomic: false,
    field: (f) => (f === 'list' ? { kind: 'list', items: { kind: 'scalar' }, strategicMerge: false, mergeKey: '', listType: 'set', keys: [] } : undefined),
  };
  const v = (...items: string[]): string[] => items.map((i) => `.spec.list[="${i}"]`);
  runSequences(sets, [
    {
      name: 'apply_twice',
      ops: [
        { apply: 'default', spec: { list: ['a', 'c'] } },
        { apply: 'default', spec: { list: ['a', 'b', 'c', 'd'] } },
      ],
      spec: { list: ['a', 'b', 'c', 'd'] },
      managed: { default: v('a', 'b', 'c', 'd') },
    },
    {
      name: 'apply_update_apply_no_overlap',
      ops: [
        { apply: 'default', spec: { list: ['a', 'c'] } },
        { update: 'controller', spec: { list: ['a', 'b', 'c', 'd'] } },
        { apply: 'default', spec: { list: ['a', 'aprime', 'c', 'cprime'] } },
      ],
      spec: { list: ['a', 'b', 'aprime', 'c', 'd', 'cprime'] },
      managed: { default: v('a', 'aprime', 'c', 'cprime'), controller: v('b', 'd') },
    },
    {
      name: 'apply_update_apply_with_overlap',
      ops: [
        { apply: 'default', spec: { list: ['a', 'c'] } },
        { update: 'controller', spec: { list: ['a', 'b', 'c', 'd'] } },
        { apply: 'default', spec: { list: ['a', 'b', 'c'] } },
      ],
      spec: { list: ['a', 'b', 'c', 'd'] },
      managed: { default: v('a', 'b', 'c'), controller: v('b', 'd') },
    },
    {
      name: 'apply_twice_reorder',
      ops: [
        { apply: 'default', spec: { list: ['a', 'b', 'c', 'd'] } },
        { apply: 'default', spec: { list: ['a', 'd', 'c', 'b'] } },
      ],
      spec: { list: ['a', 'd', 'c', 'b'] },
      managed: { default: v('a', 'b', 'c', 'd') },
    },
    {
      name: 'apply_update_apply_reorder',
      ops: [
        { apply: 'default', spec: { list: ['a', 'b', 'c', 'd'] } },
        { update: 'controller', spec: { list: ['a', 'd', 'c', 'b'] } },
        { apply: 'default', spec: { list: ['a', 'b', 'c', 'd'] } },
      ],
      spec: { list: ['a', 'b', 'c', 'd'] },
      managed: { default: v('a', 'b', 'c', 'd') },
    },
  ]);
});
