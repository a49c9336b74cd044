/** The watch encodings this build speaks, by name: the one table a new encoding is added to. */
import { badRequest } from '../errors.js';
import type { FrameCodec } from './codec.js';
import { JSON_CODEC } from './json-frame.js';
import { MSGPACK_CODEC } from './msgpack-frame.js';
import { PROTOBUF_CODEC } from './protobuf/watch.js';

const CODECS = {
  json: JSON_CODEC,
  msgpack: MSGPACK_CODEC,
  protobuf: PROTOBUF_CODEC,
} as const satisfies Record<string, FrameCodec>;

export type FrameEncoding = keyof typeof CODECS;

export const FRAME_ENCODINGS = Object.keys(CODECS) as readonly FrameEncoding[];

/** The codec of `encoding`; 400 for a name this build does not speak. */
export function codecFor(encoding: FrameEncoding): FrameCodec {
  const codec = Object.hasOwn(CODECS, encoding) ? CODECS[encoding] : undefined;
  if (codec === undefined) throw badRequest(`unsupported watch encoding ${JSON.stringify(encoding)}`);
  return codec;
}
