/**
 * Writing responses: JSON bodies and Kubernetes Status errors. Every error the front answers goes
 * through `sendError`, so the HTTP code, the Status object and the Retry-After header always come
 * from the one table in status.ts.
 */
import type { ServerResponse } from 'node:http';
import { statusFromError, type Status } from '../status.js';
import { ApiError } from './api-error.js';

const JSON_TYPE = 'application/json';

/** The Status for any error, with the details an ApiError carries. */
export function toStatus(err: unknown): Status {
  const status = statusFromError(err);
  if (err instanceof ApiError && err.statusDetails !== undefined) {
    status.details = { ...status.details, ...err.statusDetails };
  }
  return status;
}

/** Headers every API response carries: API objects must never be cached by intermediaries. */
function commonHeaders(res: ServerResponse, contentType: string, length: number): void {
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', length);
  res.setHeader('Cache-Control', 'no-cache, private');
  res.setHeader('X-Content-Type-Options', 'nosniff');
}

/** The headers of a Status answer: Retry-After when it says when to retry, then `extra`. */
export function statusHeaders(status: Status, extra?: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {};
  const retryAfter = status.details?.retryAfterSeconds;
  if (retryAfter !== undefined && (status.code === 429 || status.code === 504 || status.code === 503)) {
    headers['Retry-After'] = String(retryAfter);
  }
  return extra === undefined ? headers : Object.assign(headers, extra);
}

function sendStatus(res: ServerResponse, status: Status, extraHeaders?: Record<string, string>): void {
  if (res.headersSent) {
    // Too late for a status line (a stream already started): all that is left is to cut it.
    res.destroy();
    return;
  }
  sendBytes(res, status.code, JSON_TYPE, Buffer.from(JSON.stringify(status)), statusHeaders(status, extraHeaders));
}

export function sendError(res: ServerResponse, err: unknown, extraHeaders?: Record<string, string>): void {
  sendStatus(res, toStatus(err), extraHeaders);
}

/** A body already encoded as `contentType`, with any extra headers. */
export function sendBytes(res: ServerResponse, code: number, contentType: string, body: Uint8Array, headers?: Record<string, string>): void {
  res.statusCode = code;
  commonHeaders(res, contentType, body.byteLength);
  if (headers !== undefined) for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.end(body);
}

/** A body that is already JSON bytes (cached objects, assembled lists). */
export function sendJsonBytes(res: ServerResponse, code: number, body: Uint8Array): void {
  sendBytes(res, code, JSON_TYPE, body);
}

export function sendJson(res: ServerResponse, code: number, value: unknown): void {
  sendJsonBytes(res, code, Buffer.from(JSON.stringify(value)));
}

export function sendText(res: ServerResponse, code: number, text: string): void {
  const body = Buffer.from(text);
  res.statusCode = code;
  commonHeaders(res, 'text/plain; charset=utf-8', body.byteLength);
  res.end(body);
}
