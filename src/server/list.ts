/**
 * LIST: the cache's encoded items concatenated into a `…List` document. The items are the bytes
 * the cache keeps per object (metadata.resourceVersion already set), copied once into the
 * response and never parsed or re-serialized.
 */
import type { ServerResponse } from 'node:http';
import type { Cacher, ListResult } from '../cache/cacher.js';
import type { ListOptions } from '../cache/request.js';
import { formatShardSelector, parseShardSelector } from '../select/shard-selector.js';
import type { ResponseView } from './media.js';
import { sendProtobufList } from './protobuf-media.js';
import { groupVersion, type ResourceDefinition } from './registry.js';
import type { ResourceRoute } from './routes.js';
import { sendJson, sendJsonBytes } from './status-response.js';
import { decodeObject, partialObjectMetadataList, printerFor, table, type ConversionOptions } from './response-views.js';

const COMMA = 0x2c;
const TAIL = Buffer.from(']}');

/** `{"kind":…,"apiVersion":…,"metadata":{…},"items":[` + items joined by `,` + `]}`. */
export function encodeList(def: ResourceDefinition, result: ListResult<Uint8Array>, shardInfo?: ShardInfo): Buffer {
  let metadata = `"resourceVersion":${JSON.stringify(result.resourceVersion)}`;
  if (result.continue !== undefined) metadata += `,"continue":${JSON.stringify(result.continue)}`;
  if (result.remainingItemCount !== undefined) metadata += `,"remainingItemCount":${result.remainingItemCount}`;
  if (shardInfo !== undefined) metadata += `,"shardInfo":${JSON.stringify(shardInfo)}`;
  const head = Buffer.from(`{"kind":${JSON.stringify(def.listKind)},"apiVersion":${JSON.stringify(groupVersion(def))},"metadata":{${metadata}},"items":[`);
  const items = result.items;
  let length = head.length + TAIL.length + Math.max(0, items.length - 1);
  for (let i = 0; i < items.length; i++) length += items[i]!.byteLength;
  const out = Buffer.allocUnsafe(length);
  let at = head.copy(out, 0);
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out[at++] = COMMA;
    out.set(items[i]!, at);
    at += items[i]!.byteLength;
  }
  TAIL.copy(out, at);
  return out;
}

/** ListMeta.shardInfo: the applied shard selector, echoed so a client knows the list is one shard of the whole. */
export interface ShardInfo {
  selector: string;
}

/** The shardInfo of a LIST with these options (the cache has already rejected a bad selector). */
function shardInfoOf(options: ListOptions): ShardInfo | undefined {
  const shard = parseShardSelector(options.shardSelector ?? '');
  return shard === undefined ? undefined : { selector: formatShardSelector(shard) };
}

export async function serveList(
  res: ServerResponse,
  cacher: Cacher,
  route: ResourceRoute,
  options: ListOptions,
  signal: AbortSignal,
  view: ResponseView,
  conversion: ConversionOptions,
): Promise<void> {
  const request: ListOptions = { ...options, signal };
  if (route.namespace !== undefined) request.namespace = route.namespace;
  const result = await cacher.listEncoded(request);
  const shardInfo = shardInfoOf(options);
  if (view.kind === 'objects') {
    sendJsonBytes(res, 200, encodeList(route.resource, result, shardInfo));
    return;
  }
  if (view.kind === 'protobuf') {
    sendProtobufList(res, route.resource, result, () => encodeList(route.resource, result));
    return;
  }
  // Conversions parse each item: only clients that ask for them pay for it.
  const objects = result.items.map(decodeObject);
  const meta = {
    resourceVersion: result.resourceVersion,
    ...(result.continue === undefined ? {} : { continue: result.continue }),
    ...(result.remainingItemCount === undefined ? {} : { remainingItemCount: result.remainingItemCount }),
    ...(shardInfo === undefined ? {} : { shardInfo }),
  };
  if (view.kind === 'metadata') sendJson(res, 200, partialObjectMetadataList(objects, meta, view.version));
  else sendJson(res, 200, table(printerFor(route.resource), objects, meta, view.version, conversion.include, conversion.now()));
}
