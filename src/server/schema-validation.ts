/**
 * An object's validation against its kind's schema, once, on the object about to be stored
 * (create, update, patch, apply, /status, /scale all end there; dry runs too).
 *
 * The schemas: built-in kinds' from k8s-schemas.json (kubernetes-models' OpenAPI, see
 * openapi/schemas.ts), custom resources' from their resources-file `openAPIV3Schema`. One small
 * walker serves both, because kube-apiserver answers them differently and we follow it:
 *
 * - Built-in kinds: kube decodes the body into Go structs first. A value of the wrong JSON type
 *   is then a 400 BadRequest (`Pod in version "v1" cannot be handled as a Pod: json: cannot
 *   unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container`); a
 *   null is the field's zero value. A value Go's decoder cannot parse (an int32 out of range, a
 *   Time or Quantity string; go-scalars.ts) is a 400 too. Then its hand-written validation,
 *   422: required fields (an
 *   empty string or list is as good as none, as Go cannot tell them apart; a required number or
 *   bool is never missing, it is 0 or false) and enums.
 * - Custom resources: kube-apiserver's structural schema validation, everything 422: type
 *   (FieldValueTypeInvalid, `spec.replicas in body must be of type integer: "string"`), formats
 *   (likewise), required (only absence), enums.
 * - Unknown fields (neither declared nor under `additionalProperties` or
 *   `x-kubernetes-preserve-unknown-fields`) are dropped, as kube drops them; `fieldValidation`
 *   says whether that is silent (Ignore), a `Warning` header (Warn, the default) or a 400
 *   (Strict: `strict decoding error: unknown field "spec.foo"`).
 *
 * Rules of kube's hand-written validation that are not in the schema are added by definition
 * (`EXTRA_REQUIRED`): a PodSpec needs a container, a Container an image. The rest of kube's
 * hand-written validation (name formats of containers and ports, selector matching template
 * labels, value ranges) is not done.
 */
import { badRequest } from '../errors.js';
import type { StatusCause } from '../status.js';
import { invalidObject } from './api-error.js';
import { isJsonObject, type JsonObject } from './body.js';
import { refOf } from './object-meta.js';
import { builtinDefinition, builtinKindSchema, kindSchema, type Schema } from './openapi/schemas.js';
import { MESSAGES } from '../encode/protobuf/descriptors.js';
import { goTimeError, quantityError } from './go-scalars.js';
import type { ResourceDefinition } from './registry.js';

/** The `fieldValidation` query parameter of create, update and patch. */
export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

const FIELD_VALIDATIONS: readonly FieldValidation[] = ['Ignore', 'Strict', 'Warn'];

/** Definitions that hold free-form JSON: their schema lists no properties and means any. */
const FREE_FORM = new Set(['io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1', 'io.k8s.apimachinery.pkg.runtime.RawExtension']);

const EMBEDDED_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

/** Required by kube-apiserver's hand-written validation, though not by the OpenAPI schema. */
const EXTRA_REQUIRED: Readonly<Record<string, readonly string[]>> = {
  // validateContainers: `if len(ctr.Image) == 0` → Required, for pods and pod templates alike.
  'io.k8s.api.core.v1.Container': ['image'],
};

export interface ValidationOutcome {
  /** 422 causes, in kube's words. */
  causes: StatusCause[];
  /** Paths of unknown fields (`spec.containers[0].foo`), dropped from the object. */
  unknown: string[];
  /** A built-in kind's first decoding error (wrong JSON type): 400. */
  decodeError?: string;
}

interface Walk {
  builtin: boolean;
  out: ValidationOutcome;
}

/**
 * Where a value is: its field path, and for encoding/json's messages the innermost struct and the
 * field names from the root (no indexes or map keys).
 */
interface At {
  path: string;
  struct: string;
  goField: string;
  /** A built-in field's Go type where the schema source lost it (`int32`, `meta.v1.Time`, ...). */
  goScalar?: string;
}

type JsonType = 'null' | 'string' | 'number' | 'boolean' | 'array' | 'object';

function jsonType(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const t = typeof value;
  return t === 'string' || t === 'number' || t === 'boolean' ? t : 'object';
}

function matchesType(value: unknown, type: string): boolean {
  switch (type) {
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    default:
      return jsonType(value) === type;
  }
}

/** A definition's short name, as Go names its type within its package (`PodSpec`). */
function shortName(definition: string): string {
  return definition.slice(definition.lastIndexOf('.') + 1);
}

/** The Go type a schema decodes into, as encoding/json names it in an error. */
function goType(schema: Schema, goScalar: string | undefined): string {
  if (typeof schema.$ref === 'string') {
    const parts = schema.$ref.split('.');
    return `${parts.at(-2)}.${parts.at(-1)}`;
  }
  if (schema.type === 'array') return `[]${goType((schema.items ?? {}) as Schema, goScalar)}`;
  if (schema.type === 'object' && isJsonObject(schema.additionalProperties)) return `map[string]${goType(schema.additionalProperties, goScalar)}`;
  // The schema source lost int32 vs int64 (openapi/schemas.ts); the protobuf descriptors keep it.
  if (schema.type === 'integer' && goScalar !== undefined && /^u?int(32|64)$/.test(goScalar)) return goScalar;
  const scalar: Record<string, string> = { string: 'string', boolean: 'bool', integer: 'int', number: 'float64' };
  return scalar[String(schema.type)] ?? 'interface {}';
}

/**
 * The Go type of field `key` of a built-in definition, from the protobuf descriptors of the same
 * Go types (their scalar types are Go's; embedded structs' fields are the parent's).
 */
function goFieldType(definition: string | undefined, key: string): string | undefined {
  if (definition === undefined) return undefined;
  const search = (message: string): string | undefined => {
    for (const [, name, type, flags] of MESSAGES[message] ?? []) {
      if (flags.includes('i')) {
        const found = search(type);
        if (found !== undefined) return found;
      } else if (name === key) {
        return type;
      }
    }
    return undefined;
  };
  return search(definition.replace(/^io\.k8s\.(?:api|apimachinery\.pkg\.apis|apimachinery\.pkg\.api)\./, ''));
}

/** What Go's decoder says of a value of the right JSON type that still does not decode. */
function goDecodeError(value: unknown, at: At): string | undefined {
  switch (at.goScalar) {
    case 'int32':
      return typeof value === 'number' && (value < -(2 ** 31) || value >= 2 ** 31)
        ? `json: cannot unmarshal number ${String(value)} into Go struct field ${at.struct}.${at.goField} of type int32`
        : undefined;
    case 'meta.v1.Time':
      return typeof value === 'string' ? goTimeError(value) : undefined;
    case 'resource.Quantity':
      return typeof value === 'string' ? quantityError(value) : undefined;
    default:
      return undefined;
  }
}

/** For a built-in kind, records what Go's decoder would refuse in `value` (the first such); true if it would. */
function goDecode(w: Walk, value: unknown, at: At): boolean {
  if (!w.builtin) return false;
  const decodeError = goDecodeError(value, at);
  if (decodeError === undefined) return false;
  w.out.decodeError ??= decodeError;
  return true;
}

/** encoding/json's name for the JSON value that did not fit. */
function goValue(value: unknown): string {
  const t = jsonType(value);
  if (t === 'boolean') return 'bool';
  if (t === 'number' && !Number.isInteger(value)) return `number ${String(value)}`;
  return t;
}

/** A value in a message: strings quoted, the rest as JSON. */
function quoted(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function required(w: Walk, path: string): void {
  w.out.causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: path });
}

function typeError(w: Walk, value: unknown, schema: Schema, expected: string, at: At): void {
  if (w.builtin) {
    w.out.decodeError ??= `json: cannot unmarshal ${goValue(value)} into Go struct field ${at.struct}.${at.goField} of type ${goType(schema, at.goScalar)}`;
    return;
  }
  // kube-openapi names the JSON type of the value given, not the value.
  const given = jsonType(value) === 'number' && Number.isInteger(value) ? 'integer' : jsonType(value);
  w.out.causes.push({
    reason: 'FieldValueTypeInvalid',
    message: `Invalid value: ${quoted(given)}: ${at.path} in body must be of type ${expected}: ${quoted(given)}`,
    field: at.path,
  });
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const UUID = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Formats kube-apiserver checks in a custom resource (those a controller is likely to rely on). */
function formatHolds(format: string, value: unknown): boolean {
  switch (format) {
    case 'int32':
      return typeof value !== 'number' || (value >= -(2 ** 31) && value < 2 ** 31);
    case 'int64':
      return typeof value !== 'number' || Number.isSafeInteger(value) || Math.abs(value) < 2 ** 63;
    case 'date-time':
      return typeof value !== 'string' || (DATE_TIME.test(value) && !Number.isNaN(Date.parse(value.replace(' ', 'T'))));
    case 'date':
      return typeof value !== 'string' || (DATE.test(value) && !Number.isNaN(Date.parse(value)));
    case 'uuid':
      return typeof value !== 'string' || UUID.test(value);
    case 'byte':
      return typeof value !== 'string' || BASE64.test(value);
    default:
      return true;
  }
}

/** Follows a `$ref` to its definition; returns the definition's name when it is one. */
function resolve(schema: Schema): { schema: Schema; name?: string } {
  if (typeof schema.$ref !== 'string') return { schema };
  const target = builtinDefinition(schema.$ref);
  return target === undefined ? { schema: {} } : { schema: target, name: schema.$ref };
}

function visit(w: Walk, value: unknown, given: Schema, at: At): void {
  // Go decodes a null as the field's zero value; a custom resource's null is pruned or kept.
  if (value === null) return;
  const { schema, name } = resolve(given);
  if (name !== undefined && FREE_FORM.has(name)) return;
  if (schema['x-kubernetes-int-or-string'] === true) {
    if (!Number.isInteger(value) && typeof value !== 'string') typeError(w, value, given, 'integer,string', at);
    else goDecode(w, value, at);
    return;
  }
  if (typeof schema.type === 'string' && !matchesType(value, schema.type)) {
    typeError(w, value, given, schema.type, at);
    return;
  }
  if (goDecode(w, value, at)) return;
  if (!w.builtin && typeof schema.format === 'string' && !formatHolds(schema.format, value)) {
    typeError(w, value, schema, schema.format, at);
    return;
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) {
    const supported = schema.enum.map(quoted).join(', ');
    w.out.causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: ${quoted(value)}: supported values: ${supported}`, field: at.path });
    return;
  }
  if (Array.isArray(value)) {
    const items = isJsonObject(schema.items) ? schema.items : undefined;
    if (items !== undefined) value.forEach((item, i) => visit(w, item, items, { ...at, path: `${at.path}[${i}]` }));
    return;
  }
  if (isJsonObject(value)) visitObject(w, value, schema, name, at);
}

function visitObject(w: Walk, object: JsonObject, schema: Schema, name: string | undefined, at: At): void {
  const properties = (isJsonObject(schema.properties) ? schema.properties : {}) as Record<string, Schema>;
  const struct = name === undefined ? at.struct : shortName(name);
  const requiredKeys = [...(Array.isArray(schema.required) ? (schema.required as string[]) : []), ...(name === undefined ? [] : (EXTRA_REQUIRED[name] ?? []))];
  // kube validates a built-in kind's status by hand, far more loosely than its schema requires
  // (a container status without imageID is taken): required fields are not checked there.
  const checkRequired = !(w.builtin && (at.path === 'status' || at.path.startsWith('status.') || at.path.startsWith('status[')));
  for (const key of checkRequired ? requiredKeys : []) {
    const v = object[key];
    if (w.builtin) {
      // A Go number or bool that is absent is its zero value, which kube's validation takes;
      // an empty string or list is as good as none (kube's checks are `len(x) == 0`).
      const type = resolve(properties[key] ?? {}).schema.type;
      if (type === 'integer' || type === 'number' || type === 'boolean') continue;
      if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) required(w, join(at.path, key));
    } else if (v === undefined) {
      required(w, join(at.path, key));
    }
  }
  const additional = schema.additionalProperties;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true || additional === true;
  // A schema that declares nothing about an object's fields (no type: a custom resource's
  // `x-kubernetes-preserve-unknown-fields` alone, or no schema) keeps them all.
  const open = preserve || (schema.type === undefined && schema.properties === undefined && additional === undefined);
  // An embedded object (x-kubernetes-embedded-resource) has apiVersion, kind and metadata implied.
  const embedded = schema['x-kubernetes-embedded-resource'] === true;
  for (const key of Object.keys(object)) {
    const path = join(at.path, key);
    const property = properties[key];
    if (property !== undefined) {
      const goScalar = w.builtin ? goFieldType(name, key) : undefined;
      visit(w, object[key], property, { path, struct, goField: join(at.goField, key), ...(goScalar === undefined ? {} : { goScalar }) });
    } else if (isJsonObject(additional)) {
      // A map's values: the map field's Go type is its values' (descriptors list value types).
      visit(w, object[key], additional, { ...at, path: `${at.path}[${key}]`, struct });
    } else if (!open && !(embedded && EMBEDDED_FIELDS.has(key))) {
      w.out.unknown.push(path);
      delete object[key];
    }
  }
}

/**
 * Validates `object` (which it may change: unknown fields are dropped) against its kind's
 * schema. The caller decides what the outcome means (`checkObject`).
 */
export function validateObject(def: ResourceDefinition, object: JsonObject): ValidationOutcome {
  const builtin = builtinKindSchema(def) !== undefined;
  const w: Walk = { builtin, out: { causes: [], unknown: [] } };
  const schema = kindSchema(def);
  visit(w, object, schema, { path: '', struct: def.kind, goField: '' });
  // A built-in kind's spec is a Go struct, not a pointer: kube validates an absent one as empty
  // (a Pod without spec is `spec.containers: Required value`). Nothing is added to the object.
  const spec = (schema.properties as Record<string, Schema> | undefined)?.spec;
  if (builtin && spec !== undefined && (object.spec === undefined || object.spec === null)) visit(w, {}, spec, { path: 'spec', struct: def.kind, goField: 'spec' });
  return w.out;
}

/**
 * Validates the object about to be stored, as kube-apiserver orders it: a built-in kind's
 * decoding error (400), then unknown fields under Strict (400), then the field errors (422):
 * `metadataCauses` (metadata-validation.ts) first, then the schema's.
 * Returns the warnings to send (Warn: one per unknown field).
 */
export function checkObject(def: ResourceDefinition, object: JsonObject, fieldValidation: FieldValidation, metadataCauses: readonly StatusCause[] = []): string[] {
  const outcome = validateObject(def, object);
  const { unknown, decodeError } = outcome;
  const causes = [...metadataCauses, ...outcome.causes];
  const cannot = `${def.kind} in version ${JSON.stringify(def.version)} cannot be handled as a ${def.kind}`;
  if (decodeError !== undefined) throw badRequest(`${cannot}: ${decodeError}`);
  const unknownFields = unknown.map((path) => `unknown field ${JSON.stringify(path)}`);
  if (fieldValidation === 'Strict' && unknownFields.length > 0) throw badRequest(`${cannot}: strict decoding error: ${unknownFields.join(', ')}`);
  if (causes.length > 0) {
    const meta = isJsonObject(object.metadata) ? object.metadata : {};
    throw invalidObject(def.kind, refOf(def, typeof meta.name === 'string' ? meta.name : ''), causes);
  }
  return fieldValidation === 'Warn' ? unknownFields : [];
}

/** The `fieldValidation` query parameter: `Warn` when absent or empty, as kube-apiserver. */
export function parseFieldValidation(values: readonly string[], optionsKind: string): FieldValidation {
  const value = values[0] ?? '';
  if (value === '') return 'Warn';
  if ((FIELD_VALIDATIONS as readonly string[]).includes(value)) return value as FieldValidation;
  throw invalidObject(optionsKind, { resource: optionsKind.toLowerCase(), group: 'meta.k8s.io', name: '' }, [
    {
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(value)}: supported values: "", "Ignore", "Strict", "Warn"`,
      field: 'fieldValidation',
    },
  ]);
}
