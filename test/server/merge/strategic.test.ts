/**
 * Strategic merge patch, against kube's own cases: strategicpatch-cases.json holds the
 * patch-application cases of k8s.io/apimachinery's strategicpatch/patch_test.go (the raw cases:
 * exact list order), each a document, a patch and the result kube computes (or an error), under
 * that test file's MergeItem type, rebuilt here as a schema. Then the built-in kinds' merge keys.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/server/api-error.js';
import { strategicMergePatch } from '../../../src/server/merge/strategic.js';
import { kindSchema, type ListSchema, type Schema, type StructSchema } from '../../../src/server/merge/type-info.js';

interface Case {
  description: string;
  document: Record<string, unknown>;
  patch: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: string;
}

const cases = JSON.parse(readFileSync(new URL('./strategicpatch-cases.json', import.meta.url), 'utf8')) as Case[];

const scalar: Schema = { kind: 'scalar' };
const list = (items: Schema, mergeKey: string | undefined): ListSchema => ({
  kind: 'list',
  items,
  strategicMerge: mergeKey !== undefined,
  mergeKey: mergeKey ?? '',
  listType: 'atomic',
  keys: [],
});
function struct(name: string, fields: () => Record<string, Schema>): StructSchema {
  return { kind: 'struct', name, atomic: false, field: (f) => fields()[f] };
}
/** patch_test.go's MergeItem and RetainKeysMergeItem. */
const mergeItem: StructSchema = struct('MergeItem', () => ({
  name: scalar,
  value: scalar,
  other: scalar,
  mergingList: list(mergeItem, 'name'),
  nonMergingList: list(mergeItem, undefined),
  mergingIntList: list(scalar, ''),
  nonMergingIntList: list(scalar, undefined),
  mergeItemPtr: list(mergeItem, 'name'),
  simpleMap: { kind: 'map', values: scalar, atomic: false },
  retainKeysMap: retainKeysItem,
  retainKeysMergingList: list(mergeItem, 'name'),
}));
const retainKeysItem: StructSchema = struct('RetainKeysMergeItem', () => ({
  name: scalar,
  value: scalar,
  other: scalar,
  simpleMap: { kind: 'map', values: scalar, atomic: false },
  mergingIntList: list(scalar, ''),
  mergingList: list(mergeItem, 'name'),
  nonMergingList: list(mergeItem, undefined),
}));

const apply = (doc: unknown, patch: unknown, schema: Schema = mergeItem): unknown =>
  strategicMergePatch(structuredClone(doc) as Record<string, unknown>, structuredClone(patch) as Record<string, unknown>, schema);

describe("strategic merge patch: kube's strategicpatch cases", () => {
  it('has the cases', () => {
    expect(cases.length).toBeGreaterThan(150);
  });
  for (const c of cases) {
    it(c.description, () => {
      if (c.error !== undefined) {
        let thrown: unknown;
        try {
          apply(c.document, c.patch);
        } catch (err) {
          thrown = err;
        }
        expect(thrown).toBeInstanceOf(ApiError);
      } else {
        expect(apply(c.document, c.patch)).toEqual(c.result);
      }
    });
  }
});

describe('strategic merge patch: built-in kinds', () => {
  const pod = kindSchema('v1', 'Pod')!;
  const base = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', labels: { a: '1' }, finalizers: ['x'] },
    spec: {
      containers: [
        { name: 'app', image: 'nginx:1', ports: [{ containerPort: 80, protocol: 'TCP' }], env: [{ name: 'A', value: '1' }] },
        { name: 'side', image: 'busybox' },
      ],
      volumes: [{ name: 'data', emptyDir: {} }],
      tolerations: [{ key: 'k', operator: 'Exists' }],
    },
  };

  it('kubectl set image: containers merge by name', () => {
    const out = apply(base, { spec: { containers: [{ name: 'app', image: 'nginx:2' }] } }, pod) as typeof base;
    expect(out.spec.containers.map((c) => [c.name, c.image])).toEqual([
      ['app', 'nginx:2'],
      ['side', 'busybox'],
    ]);
    expect(out.spec.containers[0]!.ports).toEqual([{ containerPort: 80, protocol: 'TCP' }]);
  });

  it('kubectl apply: $setElementOrder orders the merged list; ports merge by containerPort', () => {
    const patch = {
      spec: {
        '$setElementOrder/containers': [{ name: 'app' }, { name: 'side' }],
        containers: [{ name: 'app', image: 'nginx:2', '$setElementOrder/ports': [{ containerPort: 80 }, { containerPort: 443 }], ports: [{ containerPort: 443 }] }],
      },
    };
    const out = apply(base, patch, pod) as typeof base;
    expect(out.spec.containers[0]).toEqual({
      name: 'app',
      image: 'nginx:2',
      ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 443 }],
      env: [{ name: 'A', value: '1' }],
    });
    expect(JSON.stringify(out)).not.toContain('$');
  });

  it('env and volumes by name, $patch: delete, atomic lists replaced, finalizers a union', () => {
    const out = apply(
      base,
      {
        metadata: { finalizers: ['y'] },
        spec: {
          containers: [{ name: 'app', env: [{ name: 'B', value: '2' }, { name: 'A', $patch: 'delete' }] }, { name: 'side', $patch: 'delete' }],
          volumes: [{ name: 'cache', emptyDir: {} }],
          tolerations: [{ key: 'other', operator: 'Exists' }],
        },
      },
      pod,
    ) as typeof base;
    // The patch's items first where the live order does not relate them (kube's order too).
    expect(out.metadata.finalizers).toEqual(['y', 'x']);
    expect(out.spec.containers).toEqual([{ name: 'app', image: 'nginx:1', ports: [{ containerPort: 80, protocol: 'TCP' }], env: [{ name: 'B', value: '2' }] }]);
    expect(out.spec.volumes.map((v) => v.name)).toEqual(['cache', 'data']);
    expect(out.spec.tolerations).toEqual([{ key: 'other', operator: 'Exists' }]);
  });

  it('$deleteFromPrimitiveList and $retainKeys on built-in fields', () => {
    const out = apply(
      { metadata: { finalizers: ['a', 'b', 'c'] }, spec: { volumes: [{ name: 'v', emptyDir: {} }] } },
      { metadata: { '$deleteFromPrimitiveList/finalizers': ['b'] }, spec: { volumes: [{ name: 'v', $retainKeys: ['name', 'hostPath'], hostPath: { path: '/x' } }] } },
      pod,
    );
    expect(out).toEqual({ metadata: { finalizers: ['a', 'c'] }, spec: { volumes: [{ name: 'v', hostPath: { path: '/x' } }] } });
  });

  it('initContainers and ephemeralContainers by name, volumeMounts by mountPath', () => {
    const out = apply(
      {
        spec: {
          initContainers: [{ name: 'init', image: 'busybox:1', volumeMounts: [{ name: 'data', mountPath: '/data' }, { name: 'cfg', mountPath: '/etc/cfg' }] }, { name: 'other', image: 'alpine' }],
          ephemeralContainers: [{ name: 'debug', image: 'busybox:1' }, { name: 'probe', image: 'curl' }],
        },
      },
      {
        spec: {
          initContainers: [{ name: 'init', image: 'busybox:2', volumeMounts: [{ mountPath: '/data', readOnly: true }, { mountPath: '/tmp', name: 'tmp' }] }],
          ephemeralContainers: [{ name: 'probe', image: 'curl:2' }],
        },
      },
      pod,
    );
    expect(out).toEqual({
      spec: {
        initContainers: [
          {
            name: 'init',
            image: 'busybox:2',
            volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: true }, { mountPath: '/tmp', name: 'tmp' }, { name: 'cfg', mountPath: '/etc/cfg' }],
          },
          { name: 'other', image: 'alpine' },
        ],
        ephemeralContainers: [{ name: 'debug', image: 'busybox:1' }, { name: 'probe', image: 'curl:2' }],
      },
    });
  });

  it('conditions merge by type: pods, nodes, deployments', () => {
    const conditions = [{ type: 'Ready', status: 'False' }, { type: 'Scheduled', status: 'True' }];
    const patch = { status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'Extra', status: 'True' }] } };
    const merged = [{ type: 'Ready', status: 'True' }, { type: 'Extra', status: 'True' }, { type: 'Scheduled', status: 'True' }];
    for (const [apiVersion, kind] of [['v1', 'Pod'], ['v1', 'Node'], ['apps/v1', 'Deployment']] as const) {
      expect(apply({ status: { conditions } }, patch, kindSchema(apiVersion, kind)!), kind).toEqual({ status: { conditions: merged } });
    }
  });

  it('a Service\'s ports merge by port; $patch: replace replaces a merging list; $patch: merge is refused (422 in a list, 400 in a map, as kube)', () => {
    const svc = kindSchema('v1', 'Service')!;
    expect(apply({ spec: { ports: [{ port: 80, name: 'http' }, { port: 443, name: 'https' }] } }, { spec: { ports: [{ port: 443, targetPort: 8443 }] } }, svc)).toEqual({
      spec: { ports: [{ port: 80, name: 'http' }, { port: 443, name: 'https', targetPort: 8443 }] },
    });
    expect(apply(base, { spec: { containers: [{ name: 'only', image: 'x' }, { $patch: 'replace' }] } }, pod)).toMatchObject({ spec: { containers: [{ name: 'only', image: 'x' }] } });
    expect(() => apply(base, { spec: { containers: [{ $patch: 'merge' }] } }, pod)).toThrow(expect.objectContaining({ code: 'WC_ERR_INVALID_OBJECT', message: expect.stringMatching(/merging lists cannot yet be specified/) }));
    expect(() => apply(base, { spec: { $patch: 'merge' } }, pod)).toThrow(expect.objectContaining({ code: 'WC_ERR_BAD_REQUEST', message: expect.stringMatching(/invalid value for \$patch in a map/) }));
  });

  it('a hostile patch: nesting past the limit is 422, not a stack overflow', () => {
    let deep: Record<string, unknown> = { x: 1 };
    let doc: Record<string, unknown> = { x: 1 };
    for (let i = 0; i < 1500; i++) {
      deep = { a: deep };
      doc = { a: doc };
    }
    expect(() => apply(doc, deep, pod)).toThrow(/nested more than/);
  });
});
