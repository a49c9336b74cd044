/**
 * The resource registry: which resources the server serves, how their objects are named, where
 * they live in storage and what a field selector may use. The built-in core/v1 resources come
 * first; custom resources come from a JSON file (see docs/server.md) and are checked as strictly
 * as a CRD, so a typo fails the start instead of serving something half-configured.
 *
 * Why one file of ~490 lines: it is data (the built-in resources) plus the one parser that checks
 * a resources file against the same shape; the two must not drift apart.
 */
import { readFileSync } from 'node:fs';
import { ErrorCodes, WatchCacheError } from '../errors.js';
import { derivedField, selectableFields } from '../select/field-selector.js';
import { nameErrors, type NameRule } from './names.js';
import { parsePrinterColumn, type PrinterColumn } from '../encode/table/custom-columns.js';
import { schemaFromOpenAPI, type Schema } from './merge/type-info.js';

/** The API group the server serves itself (SelfSubjectAccessReview, server/access-review.ts): no resource may claim it. */
export const AUTHORIZATION_GROUP = 'authorization.k8s.io';

export interface ResourceDefinition {
  /** API group; "" for the core group (served under /api). */
  group: string;
  version: string;
  kind: string;
  /** The resource name in paths, e.g. `pods`. */
  plural: string;
  singular: string;
  listKind: string;
  namespaced: boolean;
  shortNames: readonly string[];
  categories: readonly string[];
  /** The watch index: events reach only the watchers pinned to its value (plus unpinned ones). */
  trigger?: string;
  /**
   * Field paths a field selector may use besides metadata.name and metadata.namespace, or field
   * specs (select/field-selector.ts derivedField) for fields kube derives.
   */
  selectableFields: readonly string[];
  /** How object names (and generateName prefixes) are checked on create: kube's name function. */
  nameRule: NameRule;
  /**
   * Whether writes validate the object's metadata (name format, generateName, label and
   * annotation keys and values, annotation size) with 422 Invalid. Only core/v1 Events do not:
   * kube-apiserver keeps their legacy validation, which checks none of it.
   */
  validatesMetadata: boolean;
  /** Bytes of this resource's event window; unset: the server's default. */
  windowBytes?: number;
  /** A custom resource's table columns (a CRD version's additionalPrinterColumns). */
  printerColumns?: readonly PrinterColumn[];
  /** How a custom resource's fields merge under server-side apply (its CRD schema's list types). */
  mergeSchema?: Schema;
  /** A custom resource's structural schema (a CRD version's schema.openAPIV3Schema), for OpenAPI. */
  openAPIV3Schema?: Readonly<Record<string, unknown>>;
  /**
   * Where the objects live under the prefix, e.g. `pods`, `deployments`, `example.com/widgets`.
   * Unset: the plural for core resources, GROUP/PLURAL for the others (a CRD's layout).
   */
  storageFolder?: string;
  /** The `/status` and `/scale` subresources the resource serves. */
  subresources?: Subresources;
}

export interface Subresources {
  /**
   * `/status`: writes to the object keep its stored status, writes to status keep everything
   * else. `createKeepsStatus`: a create stores the status it is given (kube's nodes; see
   * docs/server.md for pods and namespaces); otherwise a create drops it.
   */
  status?: { createKeepsStatus: boolean };
  /** `/scale`, an autoscaling/v1 Scale read from and written to these fields. */
  scale?: ScalePaths;
}

/** A CRD's scale subresource: field paths (dotted, without the leading dot). */
export interface ScalePaths {
  specReplicasPath: string;
  statusReplicasPath: string;
  /** Where the selector is; unset: the Scale's status.selector is empty. */
  labelSelectorPath?: string;
  /**
   * Whether the selector there is a LabelSelector object (the apps kinds' spec.selector) to be
   * written as a string, or already the string (a CRD's labelSelectorPath).
   */
  labelSelectorIsObject: boolean;
}

/** A resource as the resources file (or an embedder) declares it: the rest has defaults. */
export interface ResourceConfig {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  singular?: string;
  listKind?: string;
  shortNames?: string[];
  categories?: string[];
  trigger?: string;
  selectableFields?: string[];
  windowBytes?: number;
  /** As in a CRD version: `{name, type, jsonPath, description?, format?, priority?}`. */
  additionalPrinterColumns?: unknown[];
  /** As in a CRD version: `{openAPIV3Schema: {...}}`: served in the OpenAPI documents, and its list types merge server-side applies. */
  schema?: { openAPIV3Schema: Record<string, unknown> };
  /** As in a CRD version: `{status?: {}, scale?: {specReplicasPath, statusReplicasPath, labelSelectorPath?}}`. */
  subresources?: unknown;
}

/**
 * Pod fields Kubernetes lets a field selector use that are plain strings in the v1 JSON.
 * `spec.hostNetwork` is left out: Kubernetes reports "false" when the JSON omits it, which a
 * generic path walk (missing → "") cannot reproduce.
 */
export const POD_SELECTABLE_FIELDS: readonly string[] = selectableFields([
  'spec.nodeName',
  'spec.restartPolicy',
  'spec.schedulerName',
  'spec.serviceAccountName',
  'status.phase',
  'status.podIP',
  'status.nominatedNodeName',
]);

function core(
  plural: string,
  kind: string,
  namespaced: boolean,
  extra: Partial<Pick<ResourceDefinition, 'shortNames' | 'categories' | 'trigger' | 'selectableFields' | 'nameRule' | 'validatesMetadata' | 'subresources'>> = {},
  groupVersion: { group: string; version: string } = { group: '', version: 'v1' },
): ResourceDefinition {
  return {
    ...groupVersion,
    kind,
    plural,
    singular: kind.toLowerCase(),
    listKind: `${kind}List`,
    namespaced,
    shortNames: extra.shortNames ?? [],
    categories: extra.categories ?? [],
    ...(extra.trigger === undefined ? {} : { trigger: extra.trigger }),
    selectableFields: extra.selectableFields ?? [],
    nameRule: extra.nameRule ?? 'dns1123-subdomain',
    validatesMetadata: extra.validatesMetadata ?? true,
    // kube-apiserver keeps the built-in groups' objects at /registry/PLURAL/..., without the group.
    storageFolder: plural,
    ...(extra.subresources === undefined ? {} : { subresources: extra.subresources }),
  };
}

/** kube's status strategies: a create drops the status (nodes keep it; see docs/server.md). */
const STATUS_RESET_ON_CREATE: Subresources = Object.freeze({ status: Object.freeze({ createKeepsStatus: false }) });
const STATUS_KEPT_ON_CREATE: Subresources = Object.freeze({ status: Object.freeze({ createKeepsStatus: true }) });

/** The apps kinds with replicas: spec.replicas, status.replicas, spec.selector (a LabelSelector). */
const REPLICATED: Subresources = Object.freeze({
  status: Object.freeze({ createKeepsStatus: false }),
  scale: Object.freeze({ specReplicasPath: 'spec.replicas', statusReplicasPath: 'status.replicas', labelSelectorPath: 'spec.selector', labelSelectorIsObject: true }),
});

function apps(plural: string, kind: string, shortNames: string[], subresources: Subresources, selectable: string[] = []): ResourceDefinition {
  return core(plural, kind, true, { shortNames, categories: ['all'], subresources, selectableFields: selectable }, { group: 'apps', version: 'v1' });
}

function batch(plural: string, kind: string, shortNames: string[], selectable: string[] = []): ResourceDefinition {
  return core(plural, kind, true, { shortNames, categories: ['all'], subresources: STATUS_RESET_ON_CREATE, selectableFields: selectable }, { group: 'batch', version: 'v1' });
}

/**
 * The core/v1 resources served out of the box. Selectable fields are the string-valued ones
 * kube-apiserver offers for each (boolean ones such as nodes' spec.unschedulable are left out:
 * Kubernetes reports "false" for an absent field, which a path walk cannot reproduce).
 */
export const BUILTIN_RESOURCES: readonly ResourceDefinition[] = Object.freeze([
  core('pods', 'Pod', true, {
    shortNames: ['po'],
    categories: ['all'],
    trigger: 'spec.nodeName',
    selectableFields: POD_SELECTABLE_FIELDS.filter((f) => !f.startsWith('metadata.')),
    subresources: STATUS_KEPT_ON_CREATE,
  }),
  core('nodes', 'Node', false, { shortNames: ['no'], subresources: STATUS_KEPT_ON_CREATE }),
  core('namespaces', 'Namespace', false, { shortNames: ['ns'], selectableFields: ['status.phase'], nameRule: 'dns1123-label', subresources: STATUS_KEPT_ON_CREATE }),
  core('configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
  core('secrets', 'Secret', true, { selectableFields: ['type'] }),
  core('services', 'Service', true, { shortNames: ['svc'], categories: ['all'], nameRule: 'dns1035-label', subresources: STATUS_KEPT_ON_CREATE }),
  core('endpoints', 'Endpoints', true, { shortNames: ['ep'] }),
  core('events', 'Event', true, {
    shortNames: ['ev'],
    // kube-apiserver's legacyValidateEvent: any name that is a path segment, metadata unchecked.
    nameRule: 'path-segment',
    validatesMetadata: false,
    selectableFields: [
      'involvedObject.apiVersion',
      'involvedObject.fieldPath',
      'involvedObject.kind',
      'involvedObject.name',
      'involvedObject.namespace',
      'involvedObject.resourceVersion',
      'involvedObject.uid',
      'reason',
      'reportingComponent',
      'type',
    ],
  }),
  core('serviceaccounts', 'ServiceAccount', true, { shortNames: ['sa'] }),
  // kube's strategies drop a volume's or a claim's status on create (the controllers set it).
  core('persistentvolumes', 'PersistentVolume', false, { shortNames: ['pv'], subresources: STATUS_RESET_ON_CREATE }),
  core('persistentvolumeclaims', 'PersistentVolumeClaim', true, { shortNames: ['pvc'], subresources: STATUS_RESET_ON_CREATE }),
  // apps/v1 and batch/v1, with kube's selectable fields (pkg/registry/*/strategy.go): integers it
  // prints as "0" when unset; jobs' status.successful is the JSON's status.succeeded. None has an
  // index trigger in kube-apiserver.
  apps('deployments', 'Deployment', ['deploy'], REPLICATED),
  apps('replicasets', 'ReplicaSet', ['rs'], REPLICATED, [derivedField('status.replicas', 'status.replicas', '0')]),
  apps('statefulsets', 'StatefulSet', ['sts'], REPLICATED),
  apps('daemonsets', 'DaemonSet', ['ds'], STATUS_RESET_ON_CREATE),
  batch('jobs', 'Job', [], [derivedField('status.successful', 'status.succeeded', '0')]),
  batch('cronjobs', 'CronJob', ['cj']),
]);

// ---- the resources file ------------------------------------------------------------------------

const KIND = /^[A-Z][A-Za-z0-9]*$/;
const VERSION = /^v[1-9][0-9]*((alpha|beta)[1-9][0-9]*)?$/;
const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const CONFIG_KEYS = new Set([
  'group',
  'version',
  'kind',
  'plural',
  'namespaced',
  'singular',
  'listKind',
  'shortNames',
  'categories',
  'trigger',
  'selectableFields',
  'windowBytes',
  'additionalPrinterColumns',
  'schema',
  'subresources',
]);

function configError(where: string, message: string): WatchCacheError {
  return new WatchCacheError(ErrorCodes.INVALID, `${where}: ${message}`);
}

function lowerLabel(where: string, value: unknown): string {
  if (typeof value !== 'string' || nameErrors(value, 'dns1035-label').length > 0) {
    throw configError(where, `must be a lowercase DNS-1035 label (e.g. "widgets"), got ${JSON.stringify(value)}`);
  }
  return value;
}

function stringList(where: string, value: unknown, check: (where: string, item: unknown) => string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw configError(where, `must be an array of strings, got ${JSON.stringify(value)}`);
  return value.map((item, i) => check(`${where}[${i}]`, item));
}

function fieldPath(where: string, value: unknown): string {
  if (typeof value !== 'string' || !FIELD_PATH.test(value)) {
    throw configError(where, `must be a dotted field path such as "spec.nodeName", got ${JSON.stringify(value)}`);
  }
  if (value === 'metadata.name' || value === 'metadata.namespace') return value;
  if (value.startsWith('metadata.')) throw configError(where, `only metadata.name and metadata.namespace are selectable metadata fields`);
  return value;
}

/** Checks one resource declaration and fills in its defaults. `where` prefixes error messages. */
export function defineResource(config: unknown, where = 'resource'): ResourceDefinition {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw configError(where, 'must be an object');
  const c = config as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (!CONFIG_KEYS.has(key)) throw configError(`${where}.${key}`, `unknown field (known: ${[...CONFIG_KEYS].join(', ')})`);
  }
  // A CRD's group must have a dot: that also keeps `/registry/GROUP/...` apart from core resources.
  if (typeof c.group !== 'string' || !c.group.includes('.') || nameErrors(c.group, 'dns1123-subdomain').length > 0) {
    throw configError(`${where}.group`, `must be a DNS subdomain with at least one dot (e.g. "example.com"), got ${JSON.stringify(c.group)}`);
  }
  if (typeof c.version !== 'string' || !VERSION.test(c.version)) {
    throw configError(`${where}.version`, `must look like v1, v2beta1 or v1alpha2, got ${JSON.stringify(c.version)}`);
  }
  if (typeof c.kind !== 'string' || !KIND.test(c.kind)) {
    throw configError(`${where}.kind`, `must be a CamelCase identifier such as "Widget", got ${JSON.stringify(c.kind)}`);
  }
  const plural = lowerLabel(`${where}.plural`, c.plural);
  if (typeof c.namespaced !== 'boolean') throw configError(`${where}.namespaced`, `must be true or false, got ${JSON.stringify(c.namespaced)}`);
  const singular = c.singular === undefined ? c.kind.toLowerCase() : lowerLabel(`${where}.singular`, c.singular);
  const listKind = c.listKind === undefined ? `${c.kind}List` : c.listKind;
  if (typeof listKind !== 'string' || !KIND.test(listKind)) {
    throw configError(`${where}.listKind`, `must be a CamelCase identifier, got ${JSON.stringify(listKind)}`);
  }
  const shortNames = stringList(`${where}.shortNames`, c.shortNames, lowerLabel);
  const categories = stringList(`${where}.categories`, c.categories, lowerLabel);
  const selectable = stringList(`${where}.selectableFields`, c.selectableFields, fieldPath).filter((f) => !f.startsWith('metadata.'));
  let trigger: string | undefined;
  if (c.trigger !== undefined) {
    trigger = fieldPath(`${where}.trigger`, c.trigger);
    if (trigger.startsWith('metadata.')) throw configError(`${where}.trigger`, 'must be a field outside metadata');
  }
  let windowBytes: number | undefined;
  if (c.windowBytes !== undefined) {
    const w = c.windowBytes;
    if (typeof w !== 'number' || !Number.isSafeInteger(w) || w < 65536 || (w & (w - 1)) !== 0) {
      throw configError(`${where}.windowBytes`, `must be a power of two of at least 65536, got ${JSON.stringify(w)}`);
    }
    windowBytes = w;
  }
  let printerColumns: PrinterColumn[] | undefined;
  if (c.additionalPrinterColumns !== undefined) {
    if (!Array.isArray(c.additionalPrinterColumns)) throw configError(`${where}.additionalPrinterColumns`, 'must be an array');
    printerColumns = c.additionalPrinterColumns.map((col, i) => parsePrinterColumn(col, `${where}.additionalPrinterColumns[${i}]`, configError));
  }
  let openAPIV3Schema: Record<string, unknown> | undefined;
  let mergeSchema: Schema | undefined;
  if (c.schema !== undefined) {
    const schema = c.schema as Record<string, unknown> | null;
    const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
    if (!isObject(schema) || Object.keys(schema).some((k) => k !== 'openAPIV3Schema') || !isObject(schema.openAPIV3Schema)) {
      throw configError(`${where}.schema`, 'must be {"openAPIV3Schema": {...}}, as in a CRD version');
    }
    if (schema.openAPIV3Schema.type !== 'object') throw configError(`${where}.schema.openAPIV3Schema.type`, 'must be "object"');
    openAPIV3Schema = schema.openAPIV3Schema;
    mergeSchema = schemaFromOpenAPI(schema.openAPIV3Schema, `${where}.schema.openAPIV3Schema`, configError);
  }
  const subresources = c.subresources === undefined ? undefined : parseSubresources(`${where}.subresources`, c.subresources);
  return {
    group: c.group,
    version: c.version,
    kind: c.kind,
    plural,
    singular,
    listKind,
    namespaced: c.namespaced,
    shortNames,
    categories,
    ...(trigger === undefined ? {} : { trigger }),
    // The trigger is always selectable: a watcher pins its value with a field selector.
    selectableFields: [...new Set([...selectable, ...(trigger === undefined ? [] : [trigger])])],
    // As kube's apiextensions-apiserver: custom resource names are DNS-1123 subdomains.
    nameRule: 'dns1123-subdomain',
    validatesMetadata: true,
    ...(windowBytes === undefined ? {} : { windowBytes }),
    ...(printerColumns === undefined ? {} : { printerColumns }),
    ...(openAPIV3Schema === undefined ? {} : { openAPIV3Schema }),
    ...(subresources === undefined ? {} : { subresources }),
    ...(mergeSchema === undefined ? {} : { mergeSchema }),
  };
}

/** A CRD version's `subresources`: `status: {}` and `scale` with JSON paths such as `.spec.replicas`. */
function parseSubresources(where: string, value: unknown): Subresources {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(value)) throw configError(where, 'must be an object such as {"status": {}}');
  const out: { status?: { createKeepsStatus: boolean }; scale?: ScalePaths } = {};
  for (const [key, sub] of Object.entries(value)) {
    if (key === 'status') {
      if (!isObject(sub) || Object.keys(sub).length > 0) throw configError(`${where}.status`, 'must be {}');
      // As apiextensions-apiserver: a create cannot set status.
      out.status = { createKeepsStatus: false };
    } else if (key === 'scale') {
      if (!isObject(sub)) throw configError(`${where}.scale`, 'must be an object {specReplicasPath, statusReplicasPath, labelSelectorPath?}');
      for (const k of Object.keys(sub)) {
        if (k !== 'specReplicasPath' && k !== 'statusReplicasPath' && k !== 'labelSelectorPath') {
          throw configError(`${where}.scale.${k}`, 'unknown field (known: specReplicasPath, statusReplicasPath, labelSelectorPath)');
        }
      }
      const path = (k: string, required: boolean): string | undefined => {
        const v = sub[k];
        if (v === undefined && !required) return undefined;
        if (typeof v !== 'string' || !v.startsWith('.') || !FIELD_PATH.test(v.slice(1))) {
          throw configError(`${where}.scale.${k}`, `must be a JSON path of dotted fields such as ".spec.replicas", got ${JSON.stringify(v)}`);
        }
        return v.slice(1);
      };
      const specReplicasPath = path('specReplicasPath', true)!;
      const statusReplicasPath = path('statusReplicasPath', true)!;
      const labelSelectorPath = path('labelSelectorPath', false);
      // kube requires both under the object's own spec and status.
      if (!specReplicasPath.startsWith('spec.')) throw configError(`${where}.scale.specReplicasPath`, 'must be under .spec');
      if (!statusReplicasPath.startsWith('status.')) throw configError(`${where}.scale.statusReplicasPath`, 'must be under .status');
      out.scale = { specReplicasPath, statusReplicasPath, ...(labelSelectorPath === undefined ? {} : { labelSelectorPath }), labelSelectorIsObject: false };
    } else {
      throw configError(`${where}.${key}`, 'unknown field (known: status, scale)');
    }
  }
  return out;
}

/**
 * The resources file: `{"resources": [ResourceConfig, ...]}`. Throws WC_ERR_INVALID naming the
 * file and the offending field.
 */
export function parseResourcesFile(text: string, source = 'resources file'): ResourceDefinition[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw configError(source, `is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw configError(source, 'must be a JSON object {"resources": [...]}');
  }
  for (const key of Object.keys(parsed)) {
    if (key !== 'resources') throw configError(`${source}: ${key}`, 'unknown field (the file has one field, "resources")');
  }
  const list = (parsed as { resources?: unknown }).resources;
  if (!Array.isArray(list)) throw configError(`${source}: resources`, 'must be an array');
  return list.map((item, i) => defineResource(item, `${source}: resources[${i}]`));
}

export function loadResourcesFile(path: string): ResourceDefinition[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new WatchCacheError(ErrorCodes.INVALID, `cannot read resources file ${path}: ${(err as Error).message}`);
  }
  return parseResourcesFile(text, path);
}

// ---- the registry ------------------------------------------------------------------------------

function storageFolder(def: ResourceDefinition): string {
  return def.storageFolder ?? (def.group === '' ? def.plural : `${def.group}/${def.plural}`);
}

export function groupVersion(def: ResourceDefinition): string {
  return def.group === '' ? def.version : `${def.group}/${def.version}`;
}

export class Registry {
  readonly resources: readonly ResourceDefinition[];
  readonly #prefix: string;
  readonly #byPath = new Map<string, ResourceDefinition>();
  readonly #groups = new Map<string, string[]>();

  /** `prefix`: where everything lives in storage, e.g. `/registry` (no trailing slash). */
  constructor(resources: readonly ResourceDefinition[], prefix: string) {
    if (!/^\/[^\0]*$/.test(prefix) || prefix.includes('//')) {
      throw new WatchCacheError(ErrorCodes.INVALID, `prefix must start with "/", got ${JSON.stringify(prefix)}`);
    }
    this.#prefix = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
    const kinds = new Set<string>();
    const storage = new Set<string>();
    for (const def of resources) {
      const path = `${groupVersion(def)}/${def.plural}`;
      const gk = `${def.group}/${def.kind}`;
      const stored = storageFolder(def);
      if (def.group === AUTHORIZATION_GROUP) throw new WatchCacheError(ErrorCodes.INVALID, `the group ${AUTHORIZATION_GROUP} is the server's own`);
      if (this.#byPath.has(path)) throw new WatchCacheError(ErrorCodes.INVALID, `resource ${path} is declared twice`);
      if (kinds.has(gk)) throw new WatchCacheError(ErrorCodes.INVALID, `kind ${def.kind} of group "${def.group}" is declared twice`);
      // One storage prefix per resource: two versions of one resource would need conversion.
      if (storage.has(stored)) {
        throw new WatchCacheError(ErrorCodes.INVALID, `resource ${def.plural}${def.group === '' ? '' : `.${def.group}`} is declared in two versions, or shares its storage folder ${stored} with another; serve one`);
      }
      this.#byPath.set(path, def);
      kinds.add(gk);
      storage.add(stored);
      if (def.group !== '') {
        const versions = this.#groups.get(def.group) ?? [];
        if (!versions.includes(def.version)) versions.push(def.version);
        this.#groups.set(def.group, versions);
      }
    }
    this.resources = resources;
  }

  /** The resource at `/api/v1/PLURAL` (group "") or `/apis/GROUP/VERSION/PLURAL`. */
  lookup(group: string, version: string, plural: string): ResourceDefinition | undefined {
    return this.#byPath.get(`${group === '' ? version : `${group}/${version}`}/${plural}`);
  }

  /** Groups other than core, each with its versions in declaration order. */
  groups(): ReadonlyMap<string, readonly string[]> {
    return this.#groups;
  }

  resourcesOf(group: string, version: string): ResourceDefinition[] {
    return this.resources.filter((d) => d.group === group && d.version === version);
  }

  /** The storage prefix of a resource's objects, with its trailing slash. */
  prefixOf(def: ResourceDefinition): string {
    return `${this.#prefix}/${storageFolder(def)}/`;
  }

  /** The storage key of one object; `namespace` is ignored for cluster-scoped resources. */
  keyOf(def: ResourceDefinition, namespace: string | undefined, name: string): string {
    return def.namespaced ? `${this.prefixOf(def)}${namespace}/${name}` : `${this.prefixOf(def)}${name}`;
  }
}
