/**
 * The writer process: updates pods at a target rate, through the HTTP API of the server under
 * test (watchcache, the floor) or straight into etcd (every etcd-backed system: watchcache over
 * etcd sees the writes through its own watch, as it would see kube-apiserver's). Write number s
 * updates pod s % pods; at most `maxInFlight` writes are outstanding, fewer than there are pods,
 * so a pod's buffer is never re-marked while a write of it is still in flight, and two writes
 * of one pod are never in flight together (each watcher sees a pod's writes in order).
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import { serve, type StepDone, type StepOrder, type WriterInit } from './protocol.js';
import { etcdKey, ETCD_PREFIX, MarkedPod, podName, podNamespace } from './workload.js';

/** How long the writer waits for its last writes to complete after a step, ms. */
const COMPLETE_TIMEOUT_MS = 30_000;

/**
 * A write's outcome: null when it completed; else why it failed, and whether the server refused
 * it (an HTTP error status: the write was not applied, so no watcher is owed it) or the outcome
 * is unknown (a broken connection, an etcd error: it may have been applied).
 */
type Done = (error: string | null, refused?: boolean) => void;

interface Sink {
  /** Sends one write; calls back once it completed or failed. */
  write(pod: MarkedPod, body: Buffer, create: boolean, done: Done): void;
  revision(): Promise<string>;
  close(): void;
}

function httpSink(url: string, maxInFlight: number): Sink {
  const base = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: Math.min(64, maxInFlight) });
  const call = (method: string, path: string, body: Buffer | null, done: (error: string | null, text: string, refused: boolean) => void, retry = true): void => {
    const req = request(
      { agent, host: base.hostname, port: base.port, method, path, headers: body === null ? {} : { 'content-type': 'application/json', 'content-length': body.length } },
      (res) => {
        const ok = res.statusCode !== undefined && res.statusCode < 300;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (s: string) => {
          if (!ok || method === 'GET') text += s;
        });
        res.on('end', () => done(ok ? null : `${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`, text, !ok));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      // A kept-alive socket the server closed just as the request went out: the request never
      // reached it, so sending it again cannot apply it twice (Node's documented retry case).
      if (req.reusedSocket && err.code === 'ECONNRESET' && retry) call(method, path, body, done, false);
      else done(`${method} ${path}: ${err.message}`, '', false);
    });
    req.end(body ?? undefined);
  };
  return {
    write(pod, body, create, done) {
      const ns = podNamespace(pod.index);
      const path = create ? `/api/v1/namespaces/${ns}/pods` : `/api/v1/namespaces/${ns}/pods/${podName(pod.index)}`;
      call(create ? 'POST' : 'PUT', path, body, (error, _text, refused) => done(error, refused));
    },
    revision: () =>
      new Promise((resolve, reject) =>
        call('GET', '/api/v1/pods?limit=1', null, (error, text) => {
          if (error !== null) reject(new Error(error));
          else resolve((JSON.parse(text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
        }),
      ),
    close: () => agent.destroy(),
  };
}

function etcdSink(endpoint: string): Sink {
  const client = new Etcd3({ hosts: endpoint });
  return {
    write(pod, body, _create, done) {
      client
        .put(etcdKey(pod.index))
        .value(body)
        .then(
          () => done(null),
          (err: Error) => done(`put ${etcdKey(pod.index)}: ${err.message}`),
        );
    },
    async revision() {
      const response = await client.get(ETCD_PREFIX).exec();
      return String(response.header.revision);
    },
    close: () => client.close(),
  };
}

let init: WriterInit | undefined;
let sink: Sink | undefined;
let pods: MarkedPod[] = [];

/** Sends `count` writes from `next`, at most `maxInFlight` at once, paced by `due`. */
async function writeLoop(options: { firstSeq: number; count: number; create: boolean; due: (elapsedMs: number) => number; durationMs: number }): Promise<StepDone> {
  const { firstSeq, count, create } = options;
  const maxInFlight = init!.maxInFlight;
  const start = performance.now();
  let issued = 0;
  let completed = 0;
  let inFlight = 0;
  let failures = 0;
  let firstError: string | null = null;
  const refused: number[] = [];
  let wake: (() => void) | undefined;
  const finish = (seq: number, error: string | null, wasRefused = false): void => {
    inFlight--;
    completed++;
    if (error !== null) {
      failures++;
      firstError ??= error;
      if (wasRefused) refused.push(seq);
    }
    wake?.();
  };
  while (issued < count) {
    const elapsed = performance.now() - start;
    if (elapsed >= options.durationMs) break;
    const n = Math.min(options.due(elapsed) - issued, maxInFlight - inFlight, count - issued);
    for (let i = 0; i < n; i++) {
      const seq = firstSeq + issued++;
      const pod = pods[seq % pods.length]!;
      inFlight++;
      sink!.write(pod, pod.mark(seq), create, (error, wasRefused) => finish(seq, error, wasRefused));
    }
    // Sleep rather than spin: the writer shares the two cores with the system under test.
    await Promise.race([sleep(1), new Promise<void>((r) => (wake = r))]);
    wake = undefined;
  }
  const deadline = performance.now() + COMPLETE_TIMEOUT_MS;
  while (completed < issued && performance.now() < deadline) {
    await Promise.race([sleep(10), new Promise<void>((r) => (wake = r))]);
    wake = undefined;
  }
  if (completed < issued) {
    failures += issued - completed;
    firstError ??= `${issued - completed} writes did not complete within ${COMPLETE_TIMEOUT_MS} ms`;
  }
  return { writes: issued, failures, refused, firstError, elapsedMs: performance.now() - start };
}

serve(async (req) => {
  switch (req.type) {
    case 'init': {
      init = req.init;
      const { layout, target } = init;
      pods = Array.from({ length: layout.pods }, (_, p) => new MarkedPod(layout, p));
      sink = target.kind === 'http' ? httpSink(target.url, init.maxInFlight) : etcdSink(target.endpoint);
      return null;
    }
    case 'preload': {
      // Creates every pod (etcd: puts it), as fast as the in-flight bound allows; sequence numbers
      // below 0 are never watched.
      const result = await writeLoop({ firstSeq: 0, count: pods.length, create: init!.target.kind === 'http', due: () => pods.length, durationMs: 600_000 });
      if (result.failures > 0) throw new Error(`preload: ${result.failures} of ${result.writes} writes failed: ${result.firstError}`);
      return result;
    }
    case 'revision':
      return sink!.revision();
    case 'step': {
      const o: StepOrder = req.order;
      const count = Math.ceil((o.rate * o.durationMs) / 1000);
      return writeLoop({ firstSeq: o.firstSeq, count, create: false, due: (elapsed) => Math.floor((o.rate * elapsed) / 1000) + 1, durationMs: o.durationMs });
    }
    default:
      throw new Error(`writer: unexpected ${req.type}`);
  }
});
