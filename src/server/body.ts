/**
 * Request bodies: read with a size limit and a time limit, then parsed as one JSON object.
 *
 * An oversize body is drained (not buffered) up to a bound before the 413 is sent, because an
 * HTTP client still uploading when the server answers and closes often reports a reset instead
 * of the answer. Past that bound the connection is cut.
 */
import type { IncomingMessage } from 'node:http';
import { ErrorCodes } from '../errors.js';
import { ApiError, badRequest, requestTooLarge } from './api-error.js';

export interface BodyLimits {
  maxBytes: number;
  timeoutMs: number;
}

/** Bytes of an oversize body read and thrown away, beyond the limit, before the connection is cut. */
const DRAIN_BYTES = 8 * 1024 * 1024;

/**
 * Nesting deeper than this is refused, in bodies (400) and in patched objects (422): real objects
 * are shallow, and JSON.stringify recurses. (kube-apiserver's JSON decoder stops at 10 000.)
 */
export const MAX_JSON_DEPTH = 1000;

/**
 * Largest object stored, serialized, by default: etcd's default request limit (--max-request-bytes,
 * 1.5 MiB), which is also kube-apiserver's object size limit in practice.
 */
export const DEFAULT_MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

export class BodyError extends Error {
  /** The connection must be closed after the answer (the body was not read to its end). */
  readonly closeConnection: boolean;
  /** What to answer: an ApiError (413, 400) or the stream's own error. */
  readonly error: unknown;

  constructor(error: unknown, closeConnection: boolean) {
    super(error instanceof Error ? error.message : String(error));
    this.error = error;
    this.closeConnection = closeConnection;
  }
}

export function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBytes + DRAIN_BYTES) {
    return Promise.reject(new BodyError(requestTooLarge(limits.maxBytes), true));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (err: BodyError | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (err === undefined) resolve(Buffer.concat(chunks, size));
      else reject(err);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limits.maxBytes) {
        chunks.push(chunk);
        return;
      }
      chunks.length = 0;
      if (size > limits.maxBytes + DRAIN_BYTES) {
        req.pause();
        finish(new BodyError(requestTooLarge(limits.maxBytes), true));
      }
    };
    const onEnd = (): void => finish(size > limits.maxBytes ? new BodyError(requestTooLarge(limits.maxBytes), false) : undefined);
    const onError = (err: Error): void => finish(new BodyError(err, true));
    const onAborted = (): void => finish(new BodyError(new Error('client aborted the request'), true));
    // A client that trickles its body must not hold a request (and its memory) open forever.
    const timer = setTimeout(() => {
      finish(new BodyError(badRequest(`the request body was not received within ${limits.timeoutMs} ms`), true));
    }, limits.timeoutMs);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

export function parseJson(body: Buffer, what = 'the request body'): unknown {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw badRequest(`${what} is not valid JSON: ${(err as Error).message}`);
  }
  // Well-formed but past the depth limit: unprocessable (422), as a patch result nested too deep
  // is, so every hostile-nesting answer is one Status (kube's decoder would say 400 for a body).
  if (jsonDepth(value) > MAX_JSON_DEPTH) throw new ApiError(ErrorCodes.INVALID_OBJECT, `${what} is nested more than ${MAX_JSON_DEPTH} levels deep`);
  return value;
}

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseJsonObject(body: Buffer, what = 'the request body'): JsonObject {
  const value = parseJson(body, what);
  if (!isJsonObject(value)) throw badRequest(`${what} must be a JSON object`);
  return value;
}

/** Depth of a parsed JSON value, without recursion (a hostile body must not blow the stack here). */
function jsonDepth(root: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > max) {
      max = depth;
      if (max > MAX_JSON_DEPTH) return max;
    }
    for (const child of Array.isArray(value) ? value : Object.values(value)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return max;
}

/**
 * The bytes to store for an object built by a write. An object nested deeper than MAX_JSON_DEPTH
 * (a patch can build one) is 422 before JSON.stringify could overflow the stack on it; one larger
 * than `maxBytes` is 413 here rather than a store error.
 */
export function encodeObject(object: JsonObject, maxBytes: number): Buffer {
  if (jsonDepth(object) > MAX_JSON_DEPTH) {
    throw new ApiError(ErrorCodes.INVALID_OBJECT, `the object is nested more than ${MAX_JSON_DEPTH} levels deep`);
  }
  const bytes = Buffer.from(JSON.stringify(object));
  if (bytes.length > maxBytes) {
    throw new ApiError(ErrorCodes.REQUEST_TOO_LARGE, `Request entity too large: the object is ${bytes.length} bytes, the limit is ${maxBytes}`);
  }
  return bytes;
}
