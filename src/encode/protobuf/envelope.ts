/**
 * The envelope of every protobuf body kube sends or takes: the 4 bytes `k8s\0`, then a
 * runtime.Unknown {typeMeta=1 {apiVersion=1, kind=2}, raw=2, contentEncoding=3, contentType=4}
 * whose raw is the object's message (which has no apiVersion or kind of its own). kube writes
 * contentEncoding and contentType as empty strings; so do we, byte for byte.
 *
 * A List is one message in one envelope, its items embedded messages (not envelopes): encodeList
 * builds it from the items' envelopes by slicing their bodies out, so a cached object is never
 * encoded twice.
 */
import { ErrorCodes, WatchCacheError } from '../../errors.js';
import { messageNamed, protobufMessageFor, readMessage, sharedWriter, writeMessage, type Message } from './codec.js';
import { malformed, ProtobufReader, type ProtobufWriter } from './wire.js';

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
const K8S_PROTOBUF_MAGIC: Uint8Array = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

/** Does this kind have a protobuf form here? (Custom resources do not, as in kube.) */
export function hasProtobufSchema(apiVersion: string, kind: string): boolean {
  return protobufMessageFor(apiVersion, kind) !== undefined;
}

function typeMetaOf(object: Record<string, unknown>): { apiVersion: string; kind: string } {
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    throw new WatchCacheError(ErrorCodes.INVALID_OBJECT, 'cannot encode as protobuf: the object has no apiVersion and kind');
  }
  return { apiVersion, kind };
}

function messageOrRefuse(apiVersion: string, kind: string, code: typeof ErrorCodes.NOT_ACCEPTABLE | typeof ErrorCodes.UNSUPPORTED_MEDIA_TYPE): Message {
  const message = protobufMessageFor(apiVersion, kind);
  if (message === undefined) throw new WatchCacheError(code, `${kind} ${apiVersion} has no protobuf serialization; use application/json`);
  return message;
}

/** Magic, then Unknown up to (and including) the key of raw; returns where raw's length goes. */
function openEnvelope(w: ProtobufWriter, apiVersion: string, kind: string): number {
  w.raw(K8S_PROTOBUF_MAGIC);
  w.key(10);
  const typeMeta = w.begin();
  w.key(10);
  w.string(apiVersion);
  w.key(18);
  w.string(kind);
  w.end(typeMeta);
  w.key(18);
  return w.begin();
}

function closeEnvelope(w: ProtobufWriter, raw: number): Uint8Array {
  w.end(raw);
  w.key(26);
  w.string('');
  w.key(34);
  w.string('');
  return w.finish();
}

/**
 * A JSON object of a built-in kind as a complete protobuf body (envelope included): what GET
 * answers and what a watch frame embeds. Throws WC_ERR_NOT_ACCEPTABLE for a kind without a
 * protobuf form.
 */
export function encodeObject(object: Record<string, unknown>): Uint8Array {
  const { apiVersion, kind } = typeMetaOf(object);
  const message = messageOrRefuse(apiVersion, kind, ErrorCodes.NOT_ACCEPTABLE);
  const w = sharedWriter();
  const raw = openEnvelope(w, apiVersion, kind);
  writeMessage(w, message, object);
  return closeEnvelope(w, raw);
}

export interface Envelope {
  apiVersion: string;
  kind: string;
  /** The object's message body: a view into the input, not a copy. */
  raw: Uint8Array;
  contentEncoding: string;
  contentType: string;
}

/** Split a protobuf body into its type and message body. Malformed input: WC_ERR_BAD_REQUEST. */
export function unwrapEnvelope(bytes: Uint8Array): Envelope {
  if (bytes.length < 4 || bytes[0] !== 0x6b || bytes[1] !== 0x38 || bytes[2] !== 0x73 || bytes[3] !== 0x00) {
    throw malformed('the body does not start with the Kubernetes protobuf magic "k8s\\x00"');
  }
  const r = new ProtobufReader(bytes, 4);
  const out: Envelope = { apiVersion: '', kind: '', raw: new Uint8Array(0), contentEncoding: '', contentType: '' };
  while (r.pos < r.end) {
    const key = r.uvarint();
    switch (key) {
      case 10: {
        const end = r.lengthEnd();
        while (r.pos < end) {
          const inner = r.uvarint();
          if (inner === 10) out.apiVersion = r.string();
          else if (inner === 18) out.kind = r.string();
          else r.skip(inner & 7);
        }
        if (r.pos !== end) throw malformed('typeMeta overruns its length');
        break;
      }
      case 18:
        out.raw = r.bytes();
        break;
      case 26:
        out.contentEncoding = r.string();
        break;
      case 34:
        out.contentType = r.string();
        break;
      default:
        r.skip(key & 7);
    }
  }
  return out;
}

/**
 * A protobuf request body as the JSON object Go would print after decoding it. A kind without
 * a protobuf form is WC_ERR_UNSUPPORTED_MEDIA_TYPE (415); malformed bytes WC_ERR_BAD_REQUEST.
 */
export function decodeObject(bytes: Uint8Array): Record<string, unknown> {
  const envelope = unwrapEnvelope(bytes);
  if (envelope.kind === '' || envelope.apiVersion === '') throw malformed('the envelope carries no apiVersion and kind');
  if (envelope.contentEncoding !== '') {
    throw new WatchCacheError(ErrorCodes.UNSUPPORTED_MEDIA_TYPE, `protobuf content encoding ${JSON.stringify(envelope.contentEncoding)} is not supported`);
  }
  const message = messageOrRefuse(envelope.apiVersion, envelope.kind, ErrorCodes.UNSUPPORTED_MEDIA_TYPE);
  const out: Record<string, unknown> = { apiVersion: envelope.apiVersion, kind: envelope.kind };
  readMessage(new ProtobufReader(envelope.raw), message, envelope.raw.length, out);
  return out;
}

/**
 * A List (e.g. PodList) in its envelope, from the list metadata and the items' envelopes (as
 * encodeObject made them). Items are written as embedded messages, field 2, like kube does.
 */
export function encodeList(apiVersion: string, listKind: string, listMeta: Record<string, unknown>, itemEnvelopes: readonly Uint8Array[]): Uint8Array {
  messageOrRefuse(apiVersion, listKind, ErrorCodes.NOT_ACCEPTABLE);
  const w = sharedWriter();
  const raw = openEnvelope(w, apiVersion, listKind);
  w.key(10);
  const meta = w.begin();
  writeMessage(w, messageNamed('meta.v1.ListMeta'), listMeta);
  w.end(meta);
  for (const item of itemEnvelopes) {
    w.key(18);
    w.bytes(unwrapEnvelope(item).raw);
  }
  return closeEnvelope(w, raw);
}
