/**
 * A client process: opens its share of the watchers over real sockets (HTTP watch streams to
 * watchcache or the floor; raw etcd watches, one per watcher, to etcd or grpc-proxy) and checks
 * every event against what the writes owe each watcher: nothing missing, duplicated or extra
 * (verify.ts says how). Raw etcd watchers cannot select by node: in the kubelet mix they watch
 * every pod, as a direct etcd user would, and drop the other nodes' events themselves
 * ("filtered").
 */
import { Agent, get, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd3 } from 'etcd3';
import { serve, type ClientOpen, type ClientStats, type DrainOrder } from './protocol.js';
import { Verifier } from './verify.js';
import { ETCD_PREFIX, readMark } from './workload.js';

/** Watches opened at once. */
const OPEN_BATCH = 50;

/** An HTTP watch stream: JSON lines, each an event; the mark is found in the line's bytes. */
function openHttp(url: string, path: string, agent: Agent, v: Verifier, i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = get(`${url}${path}`, { agent }, (res: IncomingMessage) => {
      if (res.statusCode !== 200) {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (s: string) => (body += s));
        res.on('end', () => reject(new Error(`GET ${path}: ${res.statusCode} ${body.slice(0, 300)}`)));
        return;
      }
      resolve();
      let pending: Buffer | null = null;
      res.on('data', (chunk: Buffer) => {
        const buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
        let start = 0;
        for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
          if (nl > start) {
            const mark = readMark(buf, start, nl);
            if (mark !== undefined) v.event(i, mark, false);
            else if (buf.toString('latin1', start, Math.min(nl, start + 20)).includes('"ERROR"')) v.error(buf.toString('utf8', start, nl));
          }
          start = nl + 1;
        }
        pending = start < buf.length ? buf.subarray(start) : null;
      });
      // One error per stream, however it ended: 'error', 'end' and 'close' may all come.
      let ended = false;
      const fail = (text: string): void => {
        if (ended) return;
        ended = true;
        v.error(text);
      };
      res.on('error', (err) => fail(`watch ${path}: ${err.message}`));
      res.on('end', () => fail(`watch ${path} ended`));
      // A connection the server dropped mid-stream (the floor drops slow sockets).
      res.on('close', () => fail(`watch ${path} closed by the server`));
    });
    req.on('error', reject);
  });
}

let verifier: Verifier | undefined;

async function open(o: ClientOpen): Promise<number> {
  const start = performance.now();
  const v = new Verifier(o);
  verifier = v;
  const tasks: Array<() => Promise<void>> = [];
  if (o.target.kind === 'http') {
    const url = o.target.url;
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    for (let i = 0; i < o.count; i++) {
      const selector = o.mix === 'kubelet' ? `&fieldSelector=${encodeURIComponent(`spec.nodeName=node-${o.first + i}`)}` : '';
      tasks.push(() => openHttp(url, `/api/v1/pods?watch=1&resourceVersion=${o.revision}${selector}`, agent, v, i));
    }
  } else {
    const client = new Etcd3({ hosts: o.target.endpoint });
    const from = String(BigInt(o.revision) + 1n);
    for (let i = 0; i < o.count; i++) {
      tasks.push(async () => {
        const watcher = await client.watch().prefix(ETCD_PREFIX).startRevision(from).create();
        watcher.on('put', (kv) => v.event(i, readMark(kv.value), true));
        watcher.on('error', (err: Error) => v.error(`etcd watch: ${err.message}`));
        watcher.on('end', () => v.error('etcd watch ended'));
      });
    }
  }
  for (let b = 0; b < tasks.length; b += OPEN_BATCH) await Promise.all(tasks.slice(b, b + OPEN_BATCH).map((t) => t()));
  return performance.now() - start;
}

async function drain(order: DrainOrder): Promise<ClientStats> {
  const v = verifier!;
  const start = performance.now();
  v.owe(order.upTo, new Set(order.refused));
  while (!v.complete && performance.now() - start < order.timeoutMs) await sleep(5);
  return v.stats(performance.now() - start);
}

serve(async (req) => {
  switch (req.type) {
    case 'open':
      return open(req.open);
    case 'drain':
      return drain(req.order);
    default:
      throw new Error(`client: unexpected ${req.type}`);
  }
});
