/**
 * The watch encodings this build speaks, by name: the one table a new encoding is added to. A
 * watch's format is an encoding's name or a view's (view-codec.ts: a Table or PartialObjectMetadata
 * per event, in JSON), resolved with the resource's printer, which the cacher holds.
 */
import { badRequest, ErrorCodes, WatchCacheError } from '../errors.js';
import type { FrameCodec } from './codec.js';
import { JSON_CODEC } from './json-frame.js';
import { MSGPACK_CODEC } from './msgpack-frame.js';
import { PROTOBUF_CODEC } from './protobuf/watch.js';
import type { PrinterSpec } from './table/views.js';
import { parseViewFormat, viewCodecFor, viewFormat, type ViewFormat, type WatchView } from './view-codec.js';

const CODECS = {
  json: JSON_CODEC,
  msgpack: MSGPACK_CODEC,
  protobuf: PROTOBUF_CODEC,
} as const satisfies Record<string, FrameCodec>;

export type FrameEncoding = keyof typeof CODECS;

/** What a watcher's frames are: an encoding of the objects, or a view of them. */
export type WatchFormat = FrameEncoding | ViewFormat;

const NO_PRINTER: PrinterSpec = Object.freeze({ group: '', kind: '' });

/**
 * The codec of `format`; a view's uses `printer`, the resource's (without one, a Table has the
 * default columns). 400 for a name this build does not speak.
 */
export function codecFor(format: WatchFormat, printer: PrinterSpec = NO_PRINTER): FrameCodec {
  const codec = Object.hasOwn(CODECS, format) ? CODECS[format as FrameEncoding] : undefined;
  if (codec !== undefined) return codec;
  const view = parseViewFormat(format);
  if (view === undefined) throw badRequest(`unsupported watch encoding ${JSON.stringify(format)}`);
  return viewCodecFor(format as ViewFormat, view, printer);
}

/**
 * The format of a watch's frames: its encoding, or the view of its objects, which is served in
 * JSON only (406 for a view in another encoding).
 */
export function watchFormat(encoding: FrameEncoding, view: WatchView | undefined): WatchFormat {
  if (view === undefined) return encoding;
  if (encoding !== 'json') throw new WatchCacheError(ErrorCodes.NOT_ACCEPTABLE, `a ${view.kind} view of watch events is served in JSON only`);
  return viewFormat(view);
}
