/**
 * WATCH over HTTP: a chunked 200 response fed by the cacher's frame watch.
 *
 * Per delivery the main thread does as little as it can: frames are the cacher's shared,
 * already-encoded Uint8Arrays and are written as they are. The first frame of a turn corks the
 * response and schedules one flush (process.nextTick), so everything dispatched to this watcher in
 * that turn leaves in one writev. After the flush the watch is acked (frames taken) at once if the
 * socket accepted everything, or on 'drain' if it did not: a slow client therefore stops acking,
 * and the dispatcher stalls it on its own ring cursor instead of buffering for it here.
 *
 * Ends: the cacher ends the sink (timeout, relist, server stop, or an error, which comes as a last
 * ERROR event inside the 200 stream); the client disconnects ('close'), which stops the cacher's
 * watcher; or the hub's backstop ends a stream that outlived its deadline (a lost end).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cacher, FrameWatchOptions } from '../cache/cacher.js';
import type { FrameSink, FrameWatch } from '../delivery/frame-stream.js';
import type { WatchEncoding } from './media.js';
import type { ServerMetrics } from './metrics.js';
import type { ResourceRoute } from './routes.js';
import { sendNegotiatedError } from './protobuf-media.js';
import type { HubWatch, WatchHub } from './watch-hub.js';

export interface WatchTimeouts {
  /** Watches without timeoutSeconds end after a random time in [min, 2 × min] seconds. */
  minRequestTimeoutSeconds: number;
  /** A client's timeoutSeconds is capped here. */
  maxWatchTimeoutSeconds: number;
}

/** Grace after a watch's deadline before the hub ends a stream the cacher did not end. */
const BACKSTOP_GRACE_MS = 5_000;

function noop(): void {}

function flushWatch(watch: HttpWatch): void {
  watch.flush();
}

class HttpWatch implements FrameSink, HubWatch {
  readonly #res: ServerResponse;
  readonly #encoding: WatchEncoding;
  readonly #hub: WatchHub;
  readonly #abort: AbortController;
  readonly #resource: string;
  readonly #metrics: ServerMetrics | undefined;
  readonly #backstopAt: number;
  #handle: FrameWatch | undefined;
  #headersSent = false;
  #corked = false;
  #awaitingDrain = false;
  /** No more writes: the response ended or the client is gone. */
  #ended = false;
  /** The hub slot and the metrics are settled exactly once. */
  #released = false;
  #streaming = false;
  /** Something was written since the last heartbeat tick. */
  #active = false;
  readonly #onDrain = (): void => {
    this.#awaitingDrain = false;
    this.#ackOrWait();
  };

  constructor(
    res: ServerResponse,
    encoding: WatchEncoding,
    hub: WatchHub,
    abort: AbortController,
    resource: string,
    metrics: ServerMetrics | undefined,
    deadlineMs: number,
  ) {
    this.#res = res;
    this.#encoding = encoding;
    this.#hub = hub;
    this.#abort = abort;
    this.#resource = resource;
    this.#metrics = metrics;
    this.#backstopAt = deadlineMs + BACKSTOP_GRACE_MS;
  }

  // ---- FrameSink: called synchronously from dispatch -------------------------------------------

  push(frame: Uint8Array): void {
    if (this.#ended) return;
    if (!this.#corked) {
      this.#begin();
      this.#res.cork();
      this.#corked = true;
      process.nextTick(flushWatch, this);
    }
    this.#res.write(frame);
  }

  end(errorFrame?: Uint8Array): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#begin();
    if (errorFrame !== undefined) this.#res.write(errorFrame);
    if (this.#corked) {
      this.#corked = false;
      this.#res.uncork();
    }
    this.#res.end();
    this.#release('server');
  }

  // ---- the rest of the life cycle ------------------------------------------------------------

  /** The cacher accepted the watch. */
  started(handle: FrameWatch): void {
    this.#handle = handle;
    if (this.#ended || this.#hub.closing) {
      // It ended (or the server began to stop) while the cacher was still setting it up.
      this.endFromServer();
      return;
    }
    this.#streaming = true;
    this.#metrics?.onWatchStart?.(this.#resource);
    this.#hub.add(this);
    this.#begin();
    // A watch from an RV may have nothing to send yet; the client still needs its 200 now.
    if (!this.#corked) this.#res.flushHeaders();
    this.#ackOrWait();
  }

  /** The cacher refused the watch before it started. */
  refused(err: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    sendNegotiatedError(this.#res, err, {});
    this.#release('server');
  }

  /** The response closed: the client went away (or it is the 'close' after our own end). */
  closed(): void {
    if (this.#ended) {
      this.#release('server');
      return;
    }
    this.#ended = true;
    this.#abort.abort();
    this.#handle?.stop();
    this.#release('client');
  }

  flush(): void {
    if (!this.#corked) return;
    this.#corked = false;
    this.#res.uncork();
    this.#active = true;
    this.#ackOrWait();
  }

  tick(now: number): void {
    if (this.#ended) return;
    if (now >= this.#backstopAt) {
      this.endFromServer();
      return;
    }
    const heartbeat = this.#encoding.heartbeat;
    if (!this.#active && !this.#corked && heartbeat !== undefined && !this.#res.writableNeedDrain) this.#res.write(heartbeat);
    this.#active = false;
  }

  endFromServer(): void {
    this.#abort.abort();
    this.#handle?.stop();
    this.end();
  }

  #begin(): void {
    if (this.#headersSent) return;
    this.#headersSent = true;
    this.#res.writeHead(200, {
      'Content-Type': this.#encoding.contentType,
      'Cache-Control': 'no-cache, private',
      'X-Content-Type-Options': 'nosniff',
    });
  }

  #ackOrWait(): void {
    if (this.#handle === undefined || this.#ended || this.#awaitingDrain) return;
    if (this.#res.writableNeedDrain) {
      this.#awaitingDrain = true;
      this.#res.once('drain', this.#onDrain);
    } else {
      this.#handle.ack();
    }
  }

  #release(reason: 'client' | 'server'): void {
    if (this.#released) return;
    this.#released = true;
    this.#hub.delete(this);
    this.#hub.release();
    if (this.#streaming) this.#metrics?.onWatchEnd?.(this.#resource, reason);
  }
}

export interface WatchRequest {
  cacher: Cacher;
  route: ResourceRoute;
  options: FrameWatchOptions;
  encoding: WatchEncoding;
  hub: WatchHub;
  timeouts: WatchTimeouts;
  metrics: ServerMetrics | undefined;
}

/** kube-apiserver's watch timeout: the client's, or a random one in [min, 2 × min]. */
export function watchTimeoutSeconds(requested: number | undefined, timeouts: WatchTimeouts): number {
  if (requested !== undefined && requested > 0) return Math.min(requested, timeouts.maxWatchTimeoutSeconds);
  return timeouts.minRequestTimeoutSeconds * (1 + Math.random());
}

/** Serves one watch; the hub slot must already be admitted (it is released when the watch ends). */
export async function serveWatch(req: IncomingMessage, res: ServerResponse, request: WatchRequest): Promise<void> {
  const { cacher, route, encoding, hub } = request;
  const timeoutSeconds = watchTimeoutSeconds(request.options.timeoutSeconds, request.timeouts);
  const abort = new AbortController();
  const watch = new HttpWatch(res, encoding, hub, abort, route.resource.plural, request.metrics, Date.now() + timeoutSeconds * 1000);
  // A write racing a reset socket must not become an unhandled 'error' event.
  res.on('error', noop);
  res.once('close', () => watch.closed());
  if (req.destroyed) {
    watch.closed();
    return;
  }
  const options: FrameWatchOptions = { ...request.options, timeoutSeconds, signal: abort.signal };
  if (route.namespace !== undefined) options.namespace = route.namespace;
  if (route.name !== undefined) options.name = route.name;
  let handle: FrameWatch;
  try {
    handle = await encoding.watchFrames(cacher, options, watch);
  } catch (err) {
    watch.refused(err);
    return;
  }
  watch.started(handle);
}
