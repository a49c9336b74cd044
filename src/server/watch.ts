/**
 * WATCH over HTTP: a chunked 200 response fed by the cacher's frame watch.
 *
 * Per delivery the main thread does as little as it can. Over HTTP/1.1 the watch is `chunked`:
 * the dispatcher hands it, per turn, one ready chunk `hex(len)\r\n<frames>\r\n` built once for
 * every watcher that receives the same frames, and it goes to the socket as it is. So that Node
 * adds no chunk framing of its own, the body is written to the socket directly once the 200 head
 * (Transfer-Encoding: chunked) is flushed, and the watch frames what it writes itself (initial
 * events, bookmarks ending them, heartbeats, the final ERROR) as chunks in the same order; the
 * response's end writes the last chunk `0\r\n\r\n`. Where chunked encoding is not in use
 * (HTTP/1.0: the body ends with the connection) frames go through the response one by one.
 *
 * A dispatcher chunk is written at once (it is the watcher's whole turn); the watch's own frames
 * cork the socket and schedule one flush (process.nextTick), so they leave in one writev. Acks are by exception: a socket that took everything says nothing; one that stops
 * taking bytes (needs a drain) tells the dispatcher it is `blocked`, with what it had taken, and
 * acks when it drains. A slow client therefore stalls on its own ring cursor instead of being
 * buffered for here.
 *
 * Ends: the cacher ends the sink (timeout, relist, server stop, or an error, which comes as a last
 * ERROR event inside the 200 stream); the client disconnects ('close'), which stops the cacher's
 * watcher; or the hub's backstop ends a stream that outlived its deadline (a lost end).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
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

const CRLF = Buffer.from('\r\n', 'latin1');

function noop(): void {}

function flushWatch(watch: HttpWatch): void {
  watch.flush();
}

/**
 * Whether the watch's body can be written as chunks straight to the socket: an HTTP/1.1 response
 * that is the socket's current one (not queued behind a pipelined request's).
 */
function chunkedSocket(req: IncomingMessage, res: ServerResponse): Socket | undefined {
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor < 1) return undefined;
  const socket = res.socket;
  return socket === null || socket.destroyed ? undefined : socket;
}

class HttpWatch implements FrameSink, HubWatch {
  readonly #res: ServerResponse;
  /** The socket the body goes to directly when the watch is chunked. */
  readonly #socket: Socket | undefined;
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
    socket: Socket | undefined,
    encoding: WatchEncoding,
    hub: WatchHub,
    abort: AbortController,
    resource: string,
    metrics: ServerMetrics | undefined,
    deadlineMs: number,
  ) {
    this.#res = res;
    this.#socket = socket;
    this.#encoding = encoding;
    this.#hub = hub;
    this.#abort = abort;
    this.#resource = resource;
    this.#metrics = metrics;
    this.#backstopAt = deadlineMs + BACKSTOP_GRACE_MS;
  }

  get chunked(): boolean {
    return this.#socket !== undefined;
  }

  // ---- FrameSink: called synchronously from dispatch -------------------------------------------

  push(frame: Uint8Array): void {
    if (this.#ended) return;
    this.#cork();
    this.#writeFrame(frame);
  }

  pushChunk(chunk: Uint8Array): void {
    const socket = this.#socket!;
    if (this.#ended || socket.destroyed) return;
    if (this.#corked) {
      // Frames of this watch's own went first in this turn: the chunk follows them in the cork.
      socket.write(chunk);
      return;
    }
    // A dispatcher chunk holds this watcher's whole turn already: it goes out at once, with no
    // cork and no flush to schedule (one write per watcher per turn is the whole point of it).
    this.#begin();
    socket.write(chunk);
    this.#active = true;
    this.#ackOrWait();
  }

  end(errorFrame?: Uint8Array): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#begin();
    if (errorFrame !== undefined) this.#writeFrame(errorFrame);
    if (this.#corked) {
      this.#corked = false;
      this.#out().uncork();
    }
    // Chunked: Node writes the last chunk, after everything written to the socket above.
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
    this.#out().uncork();
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
    if (!this.#active && !this.#corked && heartbeat !== undefined && !this.#out().writableNeedDrain) {
      this.#begin();
      this.#writeFrame(heartbeat);
    }
    this.#active = false;
  }

  endFromServer(): void {
    this.#abort.abort();
    this.#handle?.stop();
    this.end();
  }

  /** Where the body goes: the socket itself when chunked (the head is flushed by then), else the response. */
  #out(): Socket | ServerResponse {
    return this.#socket ?? this.#res;
  }

  #cork(): void {
    if (this.#corked) return;
    this.#begin();
    this.#out().cork();
    this.#corked = true;
    process.nextTick(flushWatch, this);
  }

  /** One frame the watch writes itself: as a chunk of its own when chunked. */
  #writeFrame(frame: Uint8Array): void {
    const socket = this.#socket;
    if (socket === undefined) {
      this.#res.write(frame);
      return;
    }
    if (socket.destroyed) return;
    socket.write(frame.byteLength.toString(16) + '\r\n', 'latin1');
    socket.write(frame);
    socket.write(CRLF);
  }

  #begin(): void {
    if (this.#headersSent) return;
    this.#headersSent = true;
    const headers: Record<string, string> = {
      'Content-Type': this.#encoding.contentType,
      'Cache-Control': 'no-cache, private',
      'X-Content-Type-Options': 'nosniff',
    };
    if (this.#socket === undefined) {
      this.#res.writeHead(200, headers);
      return;
    }
    // Chunked: the head goes out now, so the socket carries the body from here on.
    this.#res.writeHead(200, { ...headers, 'Transfer-Encoding': 'chunked' });
    this.#res.flushHeaders();
  }

  #ackOrWait(): void {
    if (this.#handle === undefined || this.#ended || this.#awaitingDrain) return;
    const out = this.#out();
    if (out.writableNeedDrain) {
      this.#awaitingDrain = true;
      this.#handle.blocked();
      out.once('drain', this.#onDrain);
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
function watchTimeoutSeconds(requested: number | undefined, timeouts: WatchTimeouts): number {
  if (requested !== undefined && requested > 0) return Math.min(requested, timeouts.maxWatchTimeoutSeconds);
  return timeouts.minRequestTimeoutSeconds * (1 + Math.random());
}

/** Serves one watch; the hub slot must already be admitted (it is released when the watch ends). */
export async function serveWatch(req: IncomingMessage, res: ServerResponse, request: WatchRequest): Promise<void> {
  const { cacher, route, encoding, hub } = request;
  const timeoutSeconds = watchTimeoutSeconds(request.options.timeoutSeconds, request.timeouts);
  const abort = new AbortController();
  const socket = chunkedSocket(req, res);
  const watch = new HttpWatch(res, socket, encoding, hub, abort, route.resource.plural, request.metrics, Date.now() + timeoutSeconds * 1000);
  // A write racing a reset socket must not become an unhandled 'error' event.
  res.on('error', noop);
  res.once('close', () => watch.closed());
  if (req.destroyed) {
    watch.closed();
    return;
  }
  const options: FrameWatchOptions = {
    ...request.options,
    timeoutSeconds,
    signal: abort.signal,
    framing: watch.chunked ? 'chunked' : 'frames',
    acks: 'exception',
  };
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
