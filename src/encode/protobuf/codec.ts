/**
 * Kubernetes JSON objects <-> protobuf message bodies, driven by the descriptors in
 * descriptors.ts. Encoding follows what kube's generated marshallers write: fields in field
 * number order, map entries sorted by key, embedded (JSON-inlined) structs as nested messages.
 * A JSON field that is absent or null is not written; fields the schema does not know are
 * dropped, as Go's decoder drops them. Decoding gives the JSON that Go's encoding/json would
 * print for the decoded struct: kube writes every non-pointer scalar even when it is zero, so a
 * zero value of an `omitempty` non-pointer field is left out, while a present pointer field is
 * kept whatever its value (`automountServiceAccountToken: false` means something).
 *
 * Why one file of ~540 lines: the encoder and the decoder walk the same descriptors with the same
 * type rules, and read best side by side.
 */
import { ErrorCodes, WatchCacheError } from '../../errors.js';
import { parseJson } from '../json-object.js';
import { MESSAGES, type FieldSpec } from './descriptors.js';
import { malformed, ProtobufReader, ProtobufWriter, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './wire.js';

const T_STRING = 0;
const T_INT32 = 1;
const T_INT64 = 2;
const T_BOOL = 3;
const T_BYTES = 4;
const T_DOUBLE = 5;
const T_MESSAGE = 6;
const T_TIME = 7;
const T_MICROTIME = 8;
const T_QUANTITY = 9;
const T_INT_OR_STRING = 10;
const T_FIELDS_V1 = 11;
const T_RAW_EXTENSION = 12;

const TYPES: Readonly<Record<string, number>> = {
  string: T_STRING,
  int32: T_INT32,
  int64: T_INT64,
  bool: T_BOOL,
  bytes: T_BYTES,
  double: T_DOUBLE,
  'meta.v1.Time': T_TIME,
  'meta.v1.MicroTime': T_MICROTIME,
  'resource.Quantity': T_QUANTITY,
  'intstr.IntOrString': T_INT_OR_STRING,
  'meta.v1.FieldsV1': T_FIELDS_V1,
  'runtime.RawExtension': T_RAW_EXTENSION,
};

function wireOf(type: number): number {
  if (type === T_INT32 || type === T_INT64 || type === T_BOOL) return WIRE_VARINT;
  if (type === T_DOUBLE) return WIRE_FIXED64;
  return WIRE_LEN;
}

interface Field {
  readonly name: string;
  /** The field key as written: number << 3 | wire type (a map field's key is its entry's). */
  readonly key: number;
  readonly wire: number;
  readonly type: number;
  readonly message: Message | undefined;
  readonly repeated: boolean;
  readonly map: boolean;
  readonly inline: boolean;
  /** A present zero value is left out on decode (a Go non-pointer `omitempty` field). */
  readonly dropZero: boolean;
  readonly omitZero: boolean;
  /** A Go non-pointer Time: JSON null is its zero value, which kube writes as an empty message. */
  readonly nullIsEmpty: boolean;
}

export interface Message {
  readonly name: string;
  readonly fields: readonly Field[];
  readonly byNumber: readonly (Field | undefined)[];
}

const compiled = new Map<string, Message>();

function compile(name: string): Message {
  const known = compiled.get(name);
  if (known !== undefined) return known;
  const specs = MESSAGES[name];
  if (specs === undefined) throw new Error(`no protobuf descriptor for ${name}`);
  const fields: Field[] = [];
  const byNumber: (Field | undefined)[] = [];
  const message: Message = { name, fields, byNumber };
  compiled.set(name, message); // before the fields, so a message may contain itself
  for (const spec of specs) {
    const field = compileField(spec);
    fields.push(field);
    byNumber[spec[0]] = field;
  }
  return message;
}

function compileField([number, name, typeName, flags]: FieldSpec): Field {
  const scalar = TYPES[typeName];
  const type = scalar ?? T_MESSAGE;
  const map = flags.includes('m');
  const pointer = flags.includes('p');
  return {
    name,
    key: number * 8 + (map ? WIRE_LEN : wireOf(type)),
    wire: wireOf(type),
    type,
    message: scalar === undefined ? compile(typeName) : undefined,
    repeated: flags.includes('r'),
    map,
    inline: flags.includes('i'),
    dropZero: !pointer && flags.includes('o'),
    omitZero: flags.includes('z'),
    nullIsEmpty: (type === T_TIME || type === T_MICROTIME) && !pointer && !flags.includes('r') && !map,
  };
}

// ---- the kinds ---------------------------------------------------------------------------------

const PACKAGES: Readonly<Record<string, string>> = {
  v1: 'core.v1',
  'apps/v1': 'apps.v1',
  'batch/v1': 'batch.v1',
  'meta.k8s.io/v1': 'meta.v1',
};

const KINDS: Readonly<Record<string, readonly string[]>> = {
  'core.v1': [
    'Pod',
    'Node',
    'Namespace',
    'ConfigMap',
    'Secret',
    'Service',
    'Endpoints',
    'Event',
    'ServiceAccount',
    'PersistentVolume',
    'PersistentVolumeClaim',
    'PodTemplate',
    'ReplicationController',
    'LimitRange',
    'ResourceQuota',
  ],
  'apps.v1': ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'ControllerRevision'],
  'batch.v1': ['Job', 'CronJob'],
  'meta.v1': ['PartialObjectMetadata'],
};

const kindMessages = new Map<string, string>();
for (const [apiVersion, pkg] of Object.entries(PACKAGES)) {
  for (const kind of KINDS[pkg] ?? []) {
    kindMessages.set(`${apiVersion}/${kind}`, `${pkg}.${kind}`);
    kindMessages.set(`${apiVersion}/${kind}List`, `${pkg}.${kind}List`);
  }
}

/**
 * The message of a kind served in protobuf, or undefined (a custom resource, an unknown kind):
 * kube answers those with 406 / 415. Status is meta/v1's in every group version.
 */
export function protobufMessageFor(apiVersion: string, kind: string): Message | undefined {
  const name = kind === 'Status' ? 'meta.v1.Status' : kindMessages.get(`${apiVersion}/${kind}`);
  return name === undefined ? undefined : compile(name);
}

export function messageNamed(name: string): Message {
  return compile(name);
}

// ---- encoding ----------------------------------------------------------------------------------

function notEncodable(field: Field, expected: string, value: unknown): WatchCacheError {
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  return new WatchCacheError(ErrorCodes.INVALID_OBJECT, `cannot encode field ${JSON.stringify(field.name)} as protobuf: expected ${expected}, got ${got}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Write the body of `message` (no key, no length) for a JSON object. */
export function writeMessage(w: ProtobufWriter, message: Message, object: Record<string, unknown>): void {
  for (const field of message.fields) {
    if (field.inline) {
      w.key(field.key);
      const start = w.begin();
      writeMessage(w, field.message!, object);
      w.end(start);
      continue;
    }
    const value = object[field.name];
    if (value === undefined) continue;
    if (value === null) {
      if (field.nullIsEmpty) {
        w.key(field.key);
        w.varint(0);
      }
      continue;
    }
    if (field.repeated) {
      if (!Array.isArray(value)) throw notEncodable(field, 'an array', value);
      for (const item of value) writeValue(w, field, field.key, item);
    } else if (field.map) {
      if (!isObject(value)) throw notEncodable(field, 'an object', value);
      const valueKey = 16 + field.wire;
      for (const k of Object.keys(value).sort()) {
        w.key(field.key);
        const start = w.begin();
        w.key(10);
        w.string(k);
        const v = value[k];
        if (v !== null && v !== undefined) writeValue(w, field, valueKey, v);
        w.end(start);
      }
    } else {
      writeValue(w, field, field.key, value);
    }
  }
}

function writeValue(w: ProtobufWriter, field: Field, key: number, value: unknown): void {
  switch (field.type) {
    case T_STRING:
      if (typeof value !== 'string') throw notEncodable(field, 'a string', value);
      w.key(key);
      w.string(value);
      return;
    case T_INT32:
    case T_INT64:
      if (typeof value !== 'number' || !Number.isInteger(value)) throw notEncodable(field, 'an integer', value);
      w.key(key);
      w.varint(value);
      return;
    case T_BOOL:
      if (typeof value !== 'boolean') throw notEncodable(field, 'a boolean', value);
      w.key(key);
      w.varint(value ? 1 : 0);
      return;
    case T_DOUBLE:
      if (typeof value !== 'number') throw notEncodable(field, 'a number', value);
      w.key(key);
      w.double(value);
      return;
    case T_BYTES:
      if (typeof value !== 'string') throw notEncodable(field, 'a base64 string', value);
      w.key(key);
      w.bytes(Buffer.from(value, 'base64'));
      return;
    case T_MESSAGE: {
      if (!isObject(value)) throw notEncodable(field, 'an object', value);
      w.key(key);
      const start = w.begin();
      writeMessage(w, field.message!, value);
      w.end(start);
      return;
    }
    case T_TIME:
    case T_MICROTIME: {
      if (typeof value !== 'string') throw notEncodable(field, 'an RFC 3339 time', value);
      const time = parseTime(value);
      if (time === undefined) throw notEncodable(field, 'an RFC 3339 time', value);
      w.key(key);
      const start = w.begin();
      w.key(8);
      w.varint(time.seconds);
      w.key(16);
      w.varint(time.nanos);
      w.end(start);
      return;
    }
    case T_QUANTITY: {
      if (typeof value !== 'string' && typeof value !== 'number') throw notEncodable(field, 'a quantity', value);
      w.key(key);
      const start = w.begin();
      w.key(10);
      w.string(String(value));
      w.end(start);
      return;
    }
    case T_INT_OR_STRING: {
      const isString = typeof value === 'string';
      if (!isString && !(typeof value === 'number' && Number.isInteger(value))) throw notEncodable(field, 'an integer or a string', value);
      w.key(key);
      const start = w.begin();
      // kube writes all three fields: type, intVal, strVal
      w.key(8);
      w.varint(isString ? 1 : 0);
      w.key(16);
      w.varint(isString ? 0 : value);
      w.key(26);
      w.string(isString ? value : '');
      w.end(start);
      return;
    }
    case T_FIELDS_V1:
    case T_RAW_EXTENSION: {
      w.key(key);
      const start = w.begin();
      w.key(10);
      w.bytes(Buffer.from(JSON.stringify(value)));
      w.end(start);
      return;
    }
    default:
      throw new Error(`unhandled protobuf type ${field.type}`);
  }
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

// Objects repeat the same few timestamps (creation, managedFields, conditions): parse each once.
const parsedTimes = new Map<string, { seconds: number; nanos: number }>();
const PARSED_TIMES_MAX = 4096;

function parseTime(text: string): { seconds: number; nanos: number } | undefined {
  let time = parsedTimes.get(text);
  if (time !== undefined) return time;
  time = parseRfc3339(text);
  if (time === undefined) return undefined;
  if (parsedTimes.size >= PARSED_TIMES_MAX) parsedTimes.clear();
  parsedTimes.set(text, time);
  return time;
}

function parseRfc3339(text: string): { seconds: number; nanos: number } | undefined {
  const m = RFC3339.exec(text);
  if (m === null) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  if (Number.isNaN(ms)) return undefined;
  let seconds = ms / 1000;
  if (m[8] !== undefined) seconds -= (m[8] === '-' ? -1 : 1) * (+m[9]! * 3600 + +m[10]! * 60);
  const nanos = m[7] === undefined ? 0 : +m[7].padEnd(9, '0');
  return { seconds, nanos };
}

// ---- decoding ----------------------------------------------------------------------------------

/** Decode the body of `message` in r's range [r.pos, end) into `out`. */
export function readMessage(r: ProtobufReader, message: Message, end: number, out: Record<string, unknown>): void {
  while (r.pos < end) {
    const key = r.uvarint();
    const wire = key & 7;
    const field = message.byNumber[Math.floor(key / 8)];
    if (field === undefined) {
      r.skip(wire); // a field newer than our descriptors
      continue;
    }
    if (field.map) {
      if (wire !== WIRE_LEN) throw malformed(`${message.name}.${field.name} has wire type ${wire}`);
      const entryEnd = r.lengthEnd();
      let k = '';
      let v: unknown = zeroOf(field);
      while (r.pos < entryEnd) {
        const entryKey = r.uvarint();
        if (entryKey === 10) k = r.string();
        else if (entryKey >>> 3 === 2) v = readValue(r, field, entryKey & 7);
        else r.skip(entryKey & 7);
      }
      if (r.pos !== entryEnd) throw malformed(`${message.name}.${field.name} map entry overruns`);
      const map = (out[field.name] ??= {}) as Record<string, unknown>;
      map[k] = v;
      continue;
    }
    if (field.inline) {
      if (wire !== WIRE_LEN) throw malformed(`${message.name}.${field.name} has wire type ${wire}`);
      const innerEnd = r.lengthEnd();
      readMessage(r, field.message!, innerEnd, out);
      continue;
    }
    if (field.repeated) {
      const list = (out[field.name] ??= []) as unknown[];
      if (wire === WIRE_LEN && field.wire !== WIRE_LEN) {
        // packed scalars: accepted, though kube's proto2 messages do not pack
        const packedEnd = r.lengthEnd();
        while (r.pos < packedEnd) list.push(readValue(r, field, field.wire));
        if (r.pos !== packedEnd) throw malformed(`${message.name}.${field.name} packed field overruns`);
      } else {
        list.push(readValue(r, field, wire));
      }
      continue;
    }
    const value = readValue(r, field, wire);
    if (value === null ? field.omitZero : field.dropZero && isZero(value)) {
      delete out[field.name];
      continue;
    }
    out[field.name] = value;
  }
  if (r.pos !== end) throw malformed(`${message.name} overruns its length`);
}

function isZero(value: unknown): boolean {
  return value === '' || value === 0 || value === false;
}

function zeroOf(field: Field): unknown {
  switch (field.type) {
    case T_STRING:
    case T_BYTES:
      return '';
    case T_INT32:
    case T_INT64:
    case T_DOUBLE:
    case T_INT_OR_STRING:
      return 0;
    case T_BOOL:
      return false;
    case T_QUANTITY:
      return '0';
    case T_MESSAGE:
      return {};
    default:
      return null;
  }
}

function readValue(r: ProtobufReader, field: Field, wire: number): unknown {
  if (wire !== field.wire) throw malformed(`field ${JSON.stringify(field.name)} has wire type ${wire}, expected ${field.wire}`);
  switch (field.type) {
    case T_STRING:
      return r.string();
    case T_INT32:
      return r.int32();
    case T_INT64:
      return r.int64();
    case T_BOOL:
      return r.uvarint() !== 0;
    case T_DOUBLE:
      return r.double();
    case T_BYTES: {
      const end = r.lengthEnd();
      const text = r.buf.toString('base64', r.pos, end);
      r.pos = end;
      return text;
    }
    case T_MESSAGE: {
      const end = r.lengthEnd();
      const out: Record<string, unknown> = {};
      readMessage(r, field.message!, end, out);
      return out;
    }
    case T_TIME:
    case T_MICROTIME:
      return readTime(r, field.type === T_MICROTIME);
    case T_QUANTITY: {
      let text = '0';
      readSmall(r, (key) => {
        if (key !== 10) return false;
        text = r.string();
        return true;
      });
      return text;
    }
    case T_INT_OR_STRING: {
      let isString = false;
      let intVal = 0;
      let strVal = '';
      readSmall(r, (key) => {
        if (key === 8) isString = r.uvarint() === 1;
        else if (key === 16) intVal = r.int32();
        else if (key === 26) strVal = r.string();
        else return false;
        return true;
      });
      return isString ? strVal : intVal;
    }
    case T_FIELDS_V1:
    case T_RAW_EXTENSION: {
      let raw: Buffer | undefined;
      readSmall(r, (key) => {
        if (key !== 10) return false;
        raw = r.bytes();
        return true;
      });
      if (raw === undefined || raw.length === 0) return field.type === T_FIELDS_V1 ? {} : null;
      return parseEmbeddedJson(raw, field.name);
    }
    default:
      throw new Error(`unhandled protobuf type ${field.type}`);
  }
}

/** Walk a small special message (Quantity, IntOrString, ...): `take` reads a field it knows. */
function readSmall(r: ProtobufReader, take: (key: number) => boolean): void {
  const end = r.lengthEnd();
  while (r.pos < end) {
    const key = r.uvarint();
    if (!take(key)) r.skip(key & 7);
  }
  if (r.pos !== end) throw malformed('embedded message overruns its length');
}

function readTime(r: ProtobufReader, micro: boolean): string | null {
  let seen = false;
  let seconds = 0;
  let nanos = 0;
  readSmall(r, (key) => {
    if (key === 8) seconds = r.int64();
    else if (key === 16) nanos = r.int32();
    else return false;
    seen = true;
    return true;
  });
  // kube writes nothing for a zero Time; JSON prints that as null
  if (!seen) return null;
  const iso = formatSeconds(seconds);
  return micro ? `${iso.slice(0, 19)}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : iso;
}

const formattedTimes = new Map<number, string>();

/** RFC 3339 in UTC to the second, as Go prints metav1.Time. */
function formatSeconds(seconds: number): string {
  let text = formattedTimes.get(seconds);
  if (text !== undefined) return text;
  text = `${new Date(seconds * 1000).toISOString().slice(0, 19)}Z`;
  if (formattedTimes.size >= PARSED_TIMES_MAX) formattedTimes.clear();
  formattedTimes.set(seconds, text);
  return text;
}

function parseEmbeddedJson(raw: Buffer, name: string): unknown {
  try {
    return parseJson(raw);
  } catch {
    throw malformed(`field ${JSON.stringify(name)} does not hold JSON`);
  }
}

// ---- whole bodies ------------------------------------------------------------------------------

const writer = new ProtobufWriter();

/** The writer the envelope functions share: encodes run one at a time on a thread. */
export function sharedWriter(): ProtobufWriter {
  writer.reset();
  return writer;
}
