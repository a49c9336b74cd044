/**
 * Object bodies in either of the media types kube-apiserver takes for create and update: JSON,
 * or Kubernetes protobuf (what kubectl ≥ 1.32 and client-go send for built-in kinds). A protobuf
 * body is decoded to the JSON object Go would print and then goes down the same path as JSON.
 * Kinds without a protobuf form (custom resources, as in kube) are 415.
 */
import type { IncomingMessage } from 'node:http';
import { decodeObject, PROTOBUF_MEDIA_TYPE } from '../encode/protobuf/envelope.js';
import { malformed, ProtobufReader } from '../encode/protobuf/wire.js';
import { parseJsonObject, readBody, type BodyLimits, type JsonObject } from './body.js';
import { JSON_MEDIA_TYPE, requireContentType } from './media.js';

/** The body media types of create and update, JSON first (an unset Content-Type means JSON). */
export const OBJECT_BODY_TYPES: readonly string[] = [JSON_MEDIA_TYPE, PROTOBUF_MEDIA_TYPE];

/**
 * A protobuf body of a kind the codec does not know, decoded by the caller (a message small
 * enough to read by hand, such as a SelfSubjectAccessReview).
 */
export type ProtobufDecoder = (bytes: Uint8Array) => JsonObject;

export async function readObjectBody(req: IncomingMessage, limits: BodyLimits, decode: ProtobufDecoder = decodeObject as ProtobufDecoder): Promise<JsonObject> {
  const type = requireContentType(req.headers['content-type'], OBJECT_BODY_TYPES);
  const body = await readBody(req, limits);
  return type === PROTOBUF_MEDIA_TYPE ? decode(body) : parseJsonObject(body);
}

/**
 * The string fields of a flat protobuf message (`number → name`); other fields are skipped.
 * Embedded messages are read by `nested` (`number → [name, reader]`).
 */
export function readFlatMessage(
  r: ProtobufReader,
  end: number,
  strings: Readonly<Record<number, string>>,
  nested: Readonly<Record<number, readonly [string, (r: ProtobufReader, end: number) => JsonObject]>> = {},
): JsonObject {
  const out: JsonObject = {};
  while (r.pos < end) {
    const key = r.uvarint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    const name = strings[field];
    const sub = nested[field];
    if (wire === 2 && name !== undefined) out[name] = r.string();
    else if (wire === 2 && sub !== undefined) {
      const subEnd = r.lengthEnd();
      out[sub[0]] = sub[1](r, subEnd);
      if (r.pos !== subEnd) throw malformed(`${sub[0]} overruns its length`);
    } else r.skip(wire);
  }
  return out;
}
