/**
 * Media types: what a response may be encoded as (the Accept header), what a request body may be
 * (Content-Type), and the watch encodings (JSON lines, msgpack, Kubernetes protobuf) with the
 * views a JSON watch may ask for (Table, PartialObjectMetadata). A watch encoding is a small
 * record, so another one slots in without touching the watch handler.
 */
import type { Cacher, FrameWatchOptions } from '../cache/cacher.js';
import type { FrameSink, FrameWatch } from '../delivery/frame-stream.js';
import { hasProtobufSchema, PROTOBUF_MEDIA_TYPE } from '../encode/protobuf/envelope.js';
import { PROTOBUF_WATCH_MEDIA_TYPE } from '../encode/protobuf/watch.js';
import type { MetaVersion } from '../encode/table/views.js';
import { notAcceptable, unsupportedMediaType } from './api-error.js';
import { groupVersion, type ResourceDefinition } from './registry.js';

export const JSON_MEDIA_TYPE = 'application/json';

export interface MediaRange {
  /** e.g. `application/json`, `application/*`, `*\/*` (lowercased). */
  type: string;
  params: ReadonlyMap<string, string>;
  q: number;
}

/** The ranges of an Accept header, in the order given; none (unset, empty) means anything. */
export function parseAccept(header: string | undefined): MediaRange[] {
  if (header === undefined || header.trim() === '') return [{ type: '*/*', params: new Map(), q: 1 }];
  const ranges: MediaRange[] = [];
  for (const part of header.split(',')) {
    const [typePart = '', ...paramParts] = part.split(';');
    const type = typePart.trim().toLowerCase();
    if (!/^[a-z0-9!#$&^_.+*@-]+\/[a-z0-9!#$&^_.+*@-]+$/.test(type)) continue;
    const params = new Map<string, string>();
    let q = 1;
    for (const p of paramParts) {
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      const key = p.slice(0, eq).trim().toLowerCase();
      const value = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
      if (key === 'q') {
        const n = Number(value);
        q = Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : 0;
      } else {
        params.set(key, value);
      }
    }
    ranges.push({ type, params, q });
  }
  return ranges;
}

/**
 * Whether `range` asks for plain `mediaType`. A range that asks for a conversion (`as=Table`,
 * `as=PartialObjectMetadata`) does not match: GET and LIST serve those through `negotiateView`,
 * watches through `negotiateWatch`.
 */
function rangeMatches(range: MediaRange, mediaType: string, watch: boolean): boolean {
  if (range.q <= 0) return false;
  if (range.params.has('as') || range.params.has('g') || range.params.has('v')) return false;
  const stream = range.params.get('stream');
  if (stream !== undefined && !(watch && stream === 'watch')) return false;
  if (range.type === '*/*') return true;
  const [type, subtype] = range.type.split('/');
  const [offerType, offerSubtype] = mediaType.split('/');
  return type === offerType && (subtype === '*' || subtype === offerSubtype);
}

/** The offer the client prefers (highest q, then its order); throws 406 when none is acceptable. */
export function negotiate<T extends { mediaType: string }>(accept: string | undefined, offers: readonly T[]): T {
  let best: T | undefined;
  let bestQ = 0;
  for (const range of parseAccept(accept)) {
    if (range.q <= bestQ) continue;
    const offer = offers.find((o) => rangeMatches(range, o.mediaType, false));
    if (offer !== undefined) {
      best = offer;
      bestQ = range.q;
    }
  }
  if (best === undefined) throw notAcceptable(offers.map((o) => o.mediaType));
  return best;
}

/**
 * What a GET or LIST answers with: the objects (as JSON, or as protobuf for a built-in kind), a
 * Table, or their metadata only.
 */
export type ResponseView = { kind: 'objects' } | { kind: 'protobuf' } | ConversionView;

export interface ConversionView {
  kind: 'table' | 'metadata';
  version: MetaVersion;
}

const OBJECTS: ResponseView = Object.freeze({ kind: 'objects' });
const PROTOBUF: ResponseView = Object.freeze({ kind: 'protobuf' });

/** The view one range asks for, if this server can give it for a `target` read. */
function rangeView(range: MediaRange, target: 'object' | 'list', protobuf: boolean): ResponseView | undefined {
  if (range.q <= 0) return undefined;
  if (!range.params.has('as')) {
    if (rangeMatches(range, JSON_MEDIA_TYPE, false)) return OBJECTS;
    return protobuf && rangeMatches(range, PROTOBUF_MEDIA_TYPE, false) ? PROTOBUF : undefined;
  }
  return range.params.has('stream') ? undefined : conversion(range, target);
}

/** The Table or PartialObjectMetadata(List) conversion a range asks for (JSON only), if served. */
function conversion(range: MediaRange, target: 'object' | 'list'): ConversionView | undefined {
  const as = range.params.get('as');
  if (range.type !== JSON_MEDIA_TYPE || range.params.get('g') !== 'meta.k8s.io') return undefined;
  const version = range.params.get('v');
  if (version !== 'v1' && version !== 'v1beta1') return undefined;
  if (as === 'Table') return { kind: 'table', version };
  // A list converts to PartialObjectMetadataList, an object to PartialObjectMetadata.
  if (as === (target === 'list' ? 'PartialObjectMetadataList' : 'PartialObjectMetadata')) return { kind: 'metadata', version };
  return undefined;
}

/**
 * The view a GET (`object`) or LIST (`list`) client prefers (highest q, then its order); objects
 * in protobuf only for a kind that has a protobuf form (`protobuf`), conversions in JSON only.
 * Throws 406 naming what this server offers when no range is acceptable.
 */
export function negotiateView(accept: string | undefined, target: 'object' | 'list', protobuf = false): ResponseView {
  let best: ResponseView | undefined;
  let bestQ = 0;
  for (const range of parseAccept(accept)) {
    if (range.q <= bestQ) continue;
    const view = rangeView(range, target, protobuf);
    if (view !== undefined) {
      best = view;
      bestQ = range.q;
    }
  }
  if (best !== undefined) return best;
  const plain = protobuf ? [JSON_MEDIA_TYPE, PROTOBUF_MEDIA_TYPE] : [JSON_MEDIA_TYPE];
  throw notAcceptable([...plain, ...conversionMediaTypes(target)]);
}

function conversionMediaTypes(target: 'object' | 'list'): string[] {
  const metadataKind = target === 'list' ? 'PartialObjectMetadataList' : 'PartialObjectMetadata';
  return [`${JSON_MEDIA_TYPE};as=Table;v=v1;g=meta.k8s.io`, `${JSON_MEDIA_TYPE};as=${metadataKind};v=v1;g=meta.k8s.io`];
}

/** What a watch streams: its encoding and, in JSON, a view of each event's object. */
export interface WatchChoice {
  encoding: WatchEncoding;
  view?: ConversionView;
}

/**
 * The watch encoding (and view) a client prefers among `encodings` that can encode `def`'s
 * objects (highest q, then its order). A watch converts each event's object as a GET does an
 * object: `as=Table` or `as=PartialObjectMetadata` (what metadata informers ask for), in JSON.
 * Throws 406 naming what this server offers for `def` when no range is acceptable.
 */
export function negotiateWatch(accept: string | undefined, encodings: readonly WatchEncoding[], def: ResourceDefinition): WatchChoice {
  const offered = encodings.filter((e) => e.serves?.(def) ?? true);
  const json = offered.find((e) => e.mediaType === JSON_MEDIA_TYPE);
  let best: WatchChoice | undefined;
  let bestQ = 0;
  for (const range of parseAccept(accept)) {
    if (range.q <= bestQ) continue;
    let choice: WatchChoice | undefined;
    if (range.params.has('as')) {
      const stream = range.params.get('stream');
      const view = json !== undefined && (stream === undefined || stream === 'watch') ? conversion(range, 'object') : undefined;
      if (view !== undefined) choice = { encoding: json!, view };
    } else {
      const encoding = offered.find((o) => rangeMatches(range, o.mediaType, true));
      if (encoding !== undefined) choice = { encoding };
    }
    if (choice !== undefined) {
      best = choice;
      bestQ = range.q;
    }
  }
  if (best !== undefined) return best;
  throw notAcceptable([...offered.map((o) => o.mediaType), ...(json === undefined ? [] : conversionMediaTypes('object'))]);
}

/** The media type of a Content-Type header, lowercased, without parameters; "" when unset. */
export function contentMediaType(header: string | undefined): string {
  if (header === undefined) return '';
  return (header.split(';')[0] ?? '').trim().toLowerCase();
}

/** Throws 415 unless the body's media type is one of `accepted` (unset counts as the first). */
export function requireContentType(header: string | undefined, accepted: readonly string[]): string {
  const type = contentMediaType(header);
  if (type === '') return accepted[0]!;
  if (!accepted.includes(type)) throw unsupportedMediaType(type, accepted);
  return type;
}

// ---- watch encodings ---------------------------------------------------------------------------

export interface WatchEncoding {
  /** The media type a client names in Accept. */
  readonly mediaType: string;
  /** The Content-Type of the stream. */
  readonly contentType: string;
  /** A chunk clients ignore, written to keep idle connections alive; none: rely on bookmarks. */
  readonly heartbeat: Uint8Array | undefined;
  /** Whether it can encode the objects of `def` (default: every resource's). */
  serves?(def: ResourceDefinition): boolean;
  /** Starts a watch whose frames are in this encoding. */
  watchFrames(cacher: Cacher, options: FrameWatchOptions, sink: FrameSink): Promise<FrameWatch>;
}

/**
 * Kubernetes JSON watch streams: one event per line, Content-Type application/json (what
 * kube-apiserver sends). A blank line is the heartbeat: client-node's line reader skips lines
 * that do not parse, and client-go's JSON stream decoder skips whitespace.
 */
export const JSON_WATCH_ENCODING: WatchEncoding = Object.freeze({
  mediaType: JSON_MEDIA_TYPE,
  contentType: JSON_MEDIA_TYPE,
  heartbeat: Buffer.from('\n'),
  watchFrames: (cacher: Cacher, options: FrameWatchOptions, sink: FrameSink) => cacher.watchFrames(options, sink),
});

const MSGPACK_MEDIA_TYPE = 'application/vnd.msgpack';

/**
 * msgpack watch streams: each event one msgpack map `{type, object}`, back to back (msgpack
 * values delimit themselves). There is no heartbeat: nothing is both valid msgpack and ignorable
 * by every decoder, so idle clients should ask for bookmarks.
 */
export const MSGPACK_WATCH_ENCODING: WatchEncoding = Object.freeze({
  mediaType: MSGPACK_MEDIA_TYPE,
  contentType: MSGPACK_MEDIA_TYPE,
  heartbeat: undefined,
  watchFrames: (cacher: Cacher, options: FrameWatchOptions, sink: FrameSink) => cacher.watchFrames({ ...options, encoding: 'msgpack' }, sink),
});

/**
 * Kubernetes protobuf watch streams (`application/vnd.kubernetes.protobuf;stream=watch`): each
 * event a 4-byte big-endian length and a metav1.WatchEvent holding the object's protobuf bytes,
 * for the built-in kinds (a custom resource has no protobuf form: a watch that takes only
 * protobuf is 406, one with a JSON fallback gets JSON). No heartbeat: every chunk of a
 * length-delimited stream is read as a frame, so idle clients rely on bookmarks.
 */
export const PROTOBUF_WATCH_ENCODING: WatchEncoding = Object.freeze({
  mediaType: PROTOBUF_MEDIA_TYPE,
  contentType: PROTOBUF_WATCH_MEDIA_TYPE,
  heartbeat: undefined,
  serves: (def: ResourceDefinition) => hasProtobufSchema(groupVersion(def), def.kind),
  watchFrames: (cacher: Cacher, options: FrameWatchOptions, sink: FrameSink) => cacher.watchFrames({ ...options, encoding: 'protobuf' }, sink),
});

/** The encodings of responses that are JSON only (discovery, OpenAPI, access reviews); resources' are protobuf-media.ts's objectMediaTypes. */
export const RESPONSE_TYPES: readonly { mediaType: string }[] = [{ mediaType: JSON_MEDIA_TYPE }];
