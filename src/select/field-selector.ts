/**
 * Kubernetes field selectors (the `fieldSelector` query parameter), with the syntax of
 * k8s.io/apimachinery/pkg/fields: comma-separated `field=value`, `field==value` or
 * `field!=value` terms, all of which must hold. A value escapes `\`, `,` and `=` with a
 * backslash. Unlike label selectors there is no blank skipping: `a = b` names the field "a ".
 *
 * Only a resource's selectable fields may be used (the registry says which; the parser takes them
 * as a parameter); their values are precomputed per object
 * version as a flat `Record<string, string>` (see `fieldExtractor`), so matching is a lookup.
 */
import { SelectorError, charAt } from './selector-error.js';

/** `==` parses to `=`; Kubernetes treats them the same. */
export type FieldOperator = '=' | '!=';

export interface FieldRequirement {
  readonly field: string;
  readonly op: FieldOperator;
  /** Unescaped. */
  readonly value: string;
}

/** All requirements must hold. No requirements: matches every object. */
export interface FieldSelector {
  readonly requirements: readonly FieldRequirement[];
}

export type Fields = Readonly<Record<string, string>>;

/** The selector that matches everything (what the empty string parses to). */
export const EVERYTHING_FIELDS: FieldSelector = Object.freeze({ requirements: Object.freeze([]) });

/** Every resource can be selected by these, cluster-scoped ones included, as in Kubernetes. */
export const BASE_SELECTABLE_FIELDS: readonly string[] = Object.freeze(['metadata.name', 'metadata.namespace']);

/**
 * A selectable field that is not simply the JSON field of its name: kube's integer fields,
 * which it prints as `"0"` when unset (replica sets' `status.replicas`), or which it names
 * differently from the JSON (jobs' `status.successful` is `status.succeeded`). The result is a
 * field spec, `NAME=PATH|ABSENT`, which goes wherever a field path goes: selectors use NAME, the
 * extractor reads PATH and writes ABSENT when PATH is missing or null. (`=` and `|` never occur
 * in a field path.)
 */
export function derivedField(name: string, path: string, absent: string): string {
  return `${name}=${path}|${absent}`;
}

/** The name a field selector uses for a field spec (a plain path is its own name). */
export function fieldName(spec: string): string {
  const eq = spec.indexOf('=');
  return eq < 0 ? spec : spec.slice(0, eq);
}

interface CompiledField {
  name: string;
  segments: string[];
  /** Written when the path is missing or null; plain paths write "". */
  absent: string;
}

function compileField(spec: string): CompiledField {
  const eq = spec.indexOf('=');
  if (eq < 0) return { name: spec, segments: spec.split('.'), absent: '' };
  const rest = spec.slice(eq + 1);
  const bar = rest.indexOf('|');
  return { name: spec.slice(0, eq), segments: (bar < 0 ? rest : rest.slice(0, bar)).split('.'), absent: bar < 0 ? '' : rest.slice(bar + 1) };
}

/** The base fields plus a resource's own, without duplicates, sorted. */
export function selectableFields(resourceFields: Iterable<string>): readonly string[] {
  return Object.freeze([...new Set([...BASE_SELECTABLE_FIELDS, ...resourceFields])].sort());
}

// ---------------------------------------------------------------------------------------------
// Escaping

const BACKSLASH = 92;
const COMMA = 44;
const EQUALS = 61;
const BANG = 33;

/**
 * Escape a literal value for use in a field selector. Only `\`, `,` and `=` are escaped, exactly
 * as Kubernetes' EscapeValue does, so the output is accepted by a real API server too.
 */
export function escapeFieldValue(value: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === BACKSLASH || c === COMMA || c === EQUALS) {
      out += `${value.slice(from, i)}\\${value[i] as string}`;
      from = i + 1;
    }
  }
  return from === 0 ? value : out + value.slice(from);
}

/**
 * Undo escapeFieldValue. `offset` and `source` only place errors inside a larger selector.
 * Besides Kubernetes' `\\`, `\,` and `\=`, `\!` is accepted (as a plain `!`) so that callers who
 * escape `!` defensively are not refused; escapeFieldValue never writes it.
 */
function unescape(raw: string, source: string, offset: number): string {
  let firstSpecial = 0;
  while (firstSpecial < raw.length) {
    const c = raw.charCodeAt(firstSpecial);
    if (c === BACKSLASH || c === COMMA || c === EQUALS) break;
    firstSpecial++;
  }
  if (firstSpecial === raw.length) return raw;
  let out = raw.slice(0, firstSpecial);
  for (let i = firstSpecial; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === BACKSLASH) {
      if (i + 1 >= raw.length) {
        fail(source, `invalid field selector: invalid escape sequence: \\ at end of value`, offset + i);
      }
      const e = raw.charCodeAt(i + 1);
      if (e !== BACKSLASH && e !== COMMA && e !== EQUALS && e !== BANG) {
        fail(
          source,
          `invalid field selector: invalid escape sequence: \\${charAt(raw, i + 1)} (only \\\\, \\, and \\= are allowed)`,
          offset + i,
        );
      }
      out += raw[i + 1] as string;
      i++;
    } else if (c === COMMA || c === EQUALS) {
      fail(
        source,
        `invalid field selector: unescaped character in value: '${charAt(raw, i)}' (write it as \\${charAt(raw, i)})`,
        offset + i,
      );
    } else {
      out += raw[i] as string;
    }
  }
  return out;
}

function fail(source: string, message: string, offset: number, withOffset = true): never {
  throw new SelectorError('field', source, withOffset ? `${message} (at offset ${offset})` : message, offset);
}

// ---------------------------------------------------------------------------------------------
// Parsing

interface Term {
  readonly text: string;
  readonly offset: number;
}

/** Split at commas that are not escaped; a backslash protects whatever character follows it. */
function splitTerms(text: string): Term[] {
  const terms: Term[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === COMMA) {
      terms.push({ text: text.slice(start, i), offset: start });
      start = i + 1;
    }
  }
  terms.push({ text: text.slice(start), offset: start });
  return terms;
}

/**
 * Parse a Kubernetes field selector. `allowedFields` are the resource's selectable fields;
 * metadata.name and metadata.namespace are always allowed. Empty terms are skipped, so "" (or
 * ",") selects everything. Syntax errors are reported before unsupported fields, as in
 * Kubernetes. Throws SelectorError (WC_ERR_BAD_REQUEST).
 */
export function parseFieldSelector(text: string, allowedFields: Iterable<string>): FieldSelector {
  const parsed: { requirement: FieldRequirement; offset: number }[] = [];
  for (const term of splitTerms(text)) {
    if (term.text === '') continue;
    // The field name has no escaping, so the first operator in the term splits it, with `!=`
    // and `==` winning over `=` at the same position.
    const t = term.text;
    let at = -1;
    let width = 0;
    let op: FieldOperator = '=';
    for (let i = 0; i < t.length; i++) {
      const c = t.charCodeAt(i);
      if (c === BANG && t.charCodeAt(i + 1) === EQUALS) {
        at = i;
        width = 2;
        op = '!=';
        break;
      }
      if (c === EQUALS) {
        at = i;
        width = t.charCodeAt(i + 1) === EQUALS ? 2 : 1;
        break;
      }
    }
    if (at === -1) {
      fail(text, `invalid selector: '${text}'; can't understand '${t}' (expected field=value, field==value or field!=value)`, term.offset);
    }
    const field = t.slice(0, at);
    const value = unescape(t.slice(at + width), text, term.offset + at + width);
    parsed.push({ requirement: { field, op, value }, offset: term.offset });
  }
  if (parsed.length === 0) return EVERYTHING_FIELDS;

  const allowed = new Set([...allowedFields].map(fieldName));
  for (const { requirement, offset } of parsed) {
    const f = requirement.field;
    if (!allowed.has(f) && !BASE_SELECTABLE_FIELDS.includes(f)) {
      // Kubernetes' exact wording; clients and people grep for it.
      fail(text, `field label not supported: ${f}`, offset, false);
    }
  }
  const requirements = parsed.map((p) => p.requirement);
  requirements.sort(compareRequirements);
  return { requirements };
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareRequirements(a: FieldRequirement, b: FieldRequirement): number {
  return compareStrings(a.field, b.field) || compareStrings(a.op, b.op) || compareStrings(a.value, b.value);
}

// ---------------------------------------------------------------------------------------------
// Matching and introspection

/**
 * Whether the object's selectable field values satisfy every requirement. A field missing from
 * `fields` counts as "", as in Kubernetes' field sets. Allocates nothing.
 */
export function matchesFields(selector: FieldSelector, fields: Fields): boolean {
  const requirements = selector.requirements;
  for (let i = 0; i < requirements.length; i++) {
    const r = requirements[i] as FieldRequirement;
    const v = fields[r.field];
    // Object.prototype holds no strings, so a string here is the object's own field.
    const actual = typeof v === 'string' ? v : '';
    if ((actual === r.value) !== (r.op === '=')) return false;
  }
  return true;
}

export function isEverythingFields(selector: FieldSelector): boolean {
  return selector.requirements.length === 0;
}

/**
 * The single value `field` must have for an object to match, when a `field=value` term pins it
 * (e.g. `spec.nodeName=node-1` → "node-1"); undefined otherwise. This routes a watcher to an
 * indexed trigger, like kube-apiserver's indexedTrigger. `spec.nodeName=` pins "" (unscheduled
 * pods), which is a real value, not undefined.
 */
export function requiredFieldValue(selector: FieldSelector, field: string): string | undefined {
  for (const r of selector.requirements) {
    if (r.field === field && r.op === '=') return r.value;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Field extraction

export type FieldExtractor = (object: unknown) => Record<string, string>;

function toFieldString(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    default:
      return '';
  }
}

/**
 * Build a function that reads the given dotted paths (e.g. "spec.nodeName") or field specs (see
 * derivedField) from a JSON object into a flat record keyed by field name. Paths are split once here, because extraction runs for every object
 * version the cache stores. A missing path, or one that ends on an object, array or null,
 * yields "" (a spec's ABSENT for a missing or null one); numbers and booleans are written in their JSON form. Only own properties are
 * followed, so a path such as "metadata.constructor" cannot reach Object.prototype.
 */
export function fieldExtractor(paths: readonly string[]): FieldExtractor {
  const compiled = paths.map(compileField);
  return (object: unknown): Record<string, string> => {
    // A null-prototype record: a path named "__proto__" stays data. Structured clone turns it
    // into a plain object, which matchesFields handles the same way.
    const out = Object.create(null) as Record<string, string>;
    for (const { name, segments, absent } of compiled) {
      let current: unknown = object;
      for (const segment of segments) {
        if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment)) {
          current = undefined;
          break;
        }
        current = (current as Record<string, unknown>)[segment];
      }
      out[name] = current === undefined || current === null ? absent : toFieldString(current);
    }
    return out;
  };
}
