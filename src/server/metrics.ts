/**
 * The seam for metrics. The server calls these hooks and routes `/metrics` to `handle`; the
 * Prometheus side (prom-client, the Kubernetes metric names) lives with whoever implements this
 * interface. Every hook is optional and called synchronously, so it must be cheap.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResourceCache } from './caches.js';

/** Kubernetes' request verbs (apiserver_request_total's `verb` label), or the method elsewhere. */
export type RequestVerb = 'GET' | 'LIST' | 'WATCH' | 'CREATE' | 'UPDATE' | 'PATCH' | 'DELETE' | string;

export interface ServerMetrics {
  /**
   * One finished request: `resource` is the plural ("" for non-resource paths), `code` the HTTP
   * status, `seconds` the time from the request to the end of its response (a watch's whole life).
   */
  onRequest?(verb: RequestVerb, resource: string, code: number, seconds: number): void;
  /** An HTTP watch started streaming. */
  onWatchStart?(resource: string): void;
  /** An HTTP watch ended; `reason` is 'client' (disconnect), 'server' (timeout, error, stop). */
  onWatchEnd?(resource: string, reason: 'client' | 'server'): void;
  /**
   * Per delivery batch of a cache: seconds from the cache appending the batch's newest event to
   * the frames reaching the main thread's subscribers (dispatch latency, on worker threads or inline).
   */
  onDeliveryLatency?(resource: string, seconds: number): void;
  /** Called once when the server is created, with its caches (for gauges read at scrape time). */
  attach?(caches: readonly ResourceCache[]): void;
  /** Serves GET /metrics. Without it /metrics is 404. */
  handle?(req: IncomingMessage, res: ServerResponse): void | Promise<void>;
}
