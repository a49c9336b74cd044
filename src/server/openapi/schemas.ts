/**
 * The schemas the OpenAPI documents carry: built-in kinds from k8s-schemas.json (generated from
 * the kubernetes-models package by tools/openapi-schemas.ts, with Kubernetes' descriptions),
 * custom resources from their resources-file schema.
 *
 * Schemas are kept with bare definition names in `$ref` (`io.k8s.api.core.v1.PodSpec`); each
 * document turns them into its own reference form.
 */
import { readFileSync } from 'node:fs';
import type { ResourceDefinition } from '../registry.js';

export type Schema = Record<string, unknown>;

interface SchemaFile {
  source: string;
  definitions: Record<string, Schema>;
}

let builtin: SchemaFile | undefined;

/** The generated built-in schemas, read on first use (430 kB: a server pays on its first write or OpenAPI request). */
function builtinSchemas(): SchemaFile {
  builtin ??= JSON.parse(readFileSync(new URL('./k8s-schemas.json', import.meta.url), 'utf8')) as SchemaFile;
  return builtin;
}

/** A built-in kind's generated schema; undefined for custom resources. */
export function builtinKindSchema(def: ResourceDefinition): Schema | undefined {
  return builtinSchemas().definitions[definitionName(def)];
}

/** A built-in definition by its name (the target of a `$ref`). */
export function builtinDefinition(name: string): Schema | undefined {
  return builtinSchemas().definitions[name];
}

/** A built-in kind whose apiVersion, kind and metadata properties a custom resource's schema gets. */
const TYPE_META_SOURCE = 'io.k8s.api.core.v1.ConfigMap';

/**
 * Kubernetes' name for a kind's definition: built-in groups by their Go package
 * (`io.k8s.api.apps.v1.Deployment`, `io.k8s.api.rbac.v1.Role` for rbac.authorization.k8s.io),
 * others by the reversed group, as kube-apiserver names a CRD's (`com.example.v1.Widget`).
 */
export function definitionName(def: ResourceDefinition): string {
  if (def.group === '') return `io.k8s.api.core.${def.version}.${def.kind}`;
  if (!def.group.includes('.') || def.group.endsWith('.k8s.io')) return `io.k8s.api.${def.group.split('.')[0]}.${def.version}.${def.kind}`;
  return `${def.group.split('.').reverse().join('.')}.${def.version}.${def.kind}`;
}

function gvk(def: ResourceDefinition): Schema {
  return { 'x-kubernetes-group-version-kind': [{ group: def.group, version: def.version, kind: def.kind }] };
}

/**
 * The schema of one served kind. A built-in kind has its generated schema; a custom resource its
 * resources-file schema with apiVersion, kind and metadata added, as kube-apiserver publishes a
 * CRD's; a kind with neither accepts any object.
 */
export function kindSchema(def: ResourceDefinition): Schema {
  const known = builtinKindSchema(def);
  if (known !== undefined) return known;
  if (def.openAPIV3Schema === undefined) {
    return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, ...gvk(def) };
  }
  const properties = (def.openAPIV3Schema.properties ?? {}) as Record<string, Schema>;
  // apiVersion, kind and metadata as every built-in kind has them (descriptions included).
  const { apiVersion, kind, metadata } = builtinSchemas().definitions[TYPE_META_SOURCE]!.properties as Record<string, Schema>;
  return { ...def.openAPIV3Schema, properties: { apiVersion, kind, metadata, ...properties }, ...gvk(def) };
}

/** Every definition a schema needs, by name: the references, followed to the end. */
export function closure(roots: ReadonlyMap<string, Schema>): Map<string, Schema> {
  const out = new Map(roots);
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const v of value) visit(v);
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, v] of Object.entries(value)) {
        if (key === '$ref' && typeof v === 'string' && !out.has(v)) {
          const target = builtinSchemas().definitions[v];
          if (target === undefined) continue;
          out.set(v, target);
          visit(target);
        } else {
          visit(v);
        }
      }
    }
  };
  for (const schema of roots.values()) visit(schema);
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * A schema in a document's form. References: v3 (as kube-apiserver writes it) wraps one that has
 * siblings in allOf, since siblings of `$ref` are ignored there; v2 points into `definitions`.
 * v2 has no anyOf: an int-or-string is `{type: string, format: int-or-string}` there, as in
 * kube-apiserver's v2 document.
 */
export function inDocument(value: unknown, version: 'v2' | 'v3'): unknown {
  if (Array.isArray(value)) return value.map((v) => inDocument(v, version));
  if (typeof value !== 'object' || value === null) return value;
  const { $ref, ...rest } = value as Schema;
  const out: Schema = {};
  for (const [key, v] of Object.entries(rest)) out[key] = inDocument(v, version);
  if (version === 'v2' && out['x-kubernetes-int-or-string'] === true && 'anyOf' in out) {
    delete out.anyOf;
    Object.assign(out, { type: 'string', format: 'int-or-string' });
  }
  if (typeof $ref !== 'string') return out;
  if (version === 'v2') return { ...out, $ref: `#/definitions/${$ref}` };
  const ref = `#/components/schemas/${$ref}`;
  return Object.keys(out).length > 0 ? { ...out, allOf: [{ $ref: ref }] } : { ...out, $ref: ref };
}
