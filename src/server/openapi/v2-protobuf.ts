/**
 * The OpenAPI v2 document as protobuf: gnostic's `openapi.v2.Document` (openapiv2/OpenAPIv2.proto),
 * which is what kubectl downloads for v2 (`explain --output plaintext-openapiv2`, and client-side
 * validation in kubectl < 1.27). Only what the JSON document carries is written: swagger, info
 * and definitions. Values with no proto field of their own (defaults, enum members, examples,
 * vendor extensions) are gnostic `Any`s holding YAML text; JSON is YAML, so they hold JSON.
 */
import { ProtobufWriter, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from '../../encode/protobuf/wire.js';
import type { Schema } from './schemas.js';

const LEN = (field: number): number => (field << 3) | WIRE_LEN;

// gnostic Schema fields that are scalars: JSON key → [field number, kind].
const SCALARS: Readonly<Record<string, readonly [number, 'string' | 'double' | 'bool' | 'int64']>> = {
  $ref: [1, 'string'],
  format: [2, 'string'],
  title: [3, 'string'],
  description: [4, 'string'],
  multipleOf: [6, 'double'],
  maximum: [7, 'double'],
  exclusiveMaximum: [8, 'bool'],
  minimum: [9, 'double'],
  exclusiveMinimum: [10, 'bool'],
  maxLength: [11, 'int64'],
  minLength: [12, 'int64'],
  pattern: [13, 'string'],
  maxItems: [14, 'int64'],
  minItems: [15, 'int64'],
  uniqueItems: [16, 'bool'],
  maxProperties: [17, 'int64'],
  minProperties: [18, 'int64'],
  discriminator: [26, 'string'],
  readOnly: [27, 'bool'],
};

function nested(w: ProtobufWriter, field: number, body: () => void): void {
  w.key(LEN(field));
  const at = w.begin();
  body();
  w.end(at);
}

/** gnostic Any: field 2, the value as YAML text. */
function any(w: ProtobufWriter, field: number, value: unknown): void {
  nested(w, field, () => {
    w.key(LEN(2));
    w.string(JSON.stringify(value));
  });
}

function named(w: ProtobufWriter, field: number, name: string, value: () => void): void {
  nested(w, field, () => {
    w.key(LEN(1));
    w.string(name);
    value();
  });
}

function schema(w: ProtobufWriter, s: Schema): void {
  for (const [key, value] of Object.entries(s)) {
    const scalar = SCALARS[key];
    if (scalar !== undefined) {
      const [field, kind] = scalar;
      if (kind === 'string' && typeof value === 'string') {
        w.key(LEN(field));
        w.string(value);
      } else if (kind === 'double' && typeof value === 'number') {
        w.key((field << 3) | WIRE_FIXED64);
        w.double(value);
      } else if ((kind === 'bool' || kind === 'int64') && (typeof value === 'boolean' || typeof value === 'number')) {
        if (value === false || value === 0) continue; // proto3 default: not written
        w.key((field << 3) | WIRE_VARINT);
        w.varint(Number(value));
      }
    } else if (key === 'default') {
      any(w, 5, value);
    } else if (key === 'required' && Array.isArray(value)) {
      for (const name of value) {
        w.key(LEN(19));
        w.string(String(name));
      }
    } else if (key === 'enum' && Array.isArray(value)) {
      for (const member of value) any(w, 20, member);
    } else if (key === 'additionalProperties') {
      // AdditionalPropertiesItem: a schema (1) or a boolean (2).
      nested(w, 21, () => {
        if (typeof value === 'boolean') {
          w.key((2 << 3) | WIRE_VARINT);
          w.varint(value ? 1 : 0);
        } else nested(w, 1, () => schema(w, value as Schema));
      });
    } else if (key === 'type') {
      nested(w, 22, () => {
        for (const type of Array.isArray(value) ? value : [value]) {
          w.key(LEN(1));
          w.string(String(type));
        }
      });
    } else if (key === 'items') {
      nested(w, 23, () => {
        for (const item of Array.isArray(value) ? value : [value]) nested(w, 1, () => schema(w, item as Schema));
      });
    } else if (key === 'allOf' && Array.isArray(value)) {
      for (const part of value) nested(w, 24, () => schema(w, part as Schema));
    } else if (key === 'properties') {
      nested(w, 25, () => {
        for (const [name, property] of Object.entries(value as Record<string, Schema>)) named(w, 1, name, () => nested(w, 2, () => schema(w, property)));
      });
    } else if (key === 'example') {
      any(w, 30, value);
    } else if (key.startsWith('x-')) {
      named(w, 31, key, () => any(w, 2, value));
    }
    // Anything else (anyOf, oneOf, not, nullable) has no place in a v2 schema and is left out.
  }
}

/** The v2 JSON document (swagger, info, definitions) as a gnostic Document. */
export function encodeOpenApiV2(doc: { swagger: string; info: { title: string; version: string }; definitions: Record<string, Schema> }): Uint8Array {
  const w = new ProtobufWriter();
  w.key(LEN(1));
  w.string(doc.swagger);
  nested(w, 2, () => {
    w.key(LEN(1));
    w.string(doc.info.title);
    w.key(LEN(2));
    w.string(doc.info.version);
  });
  nested(w, 8, () => {}); // Paths: none
  nested(w, 9, () => {
    for (const [name, definition] of Object.entries(doc.definitions)) named(w, 1, name, () => nested(w, 2, () => schema(w, definition)));
  });
  return w.finish();
}
