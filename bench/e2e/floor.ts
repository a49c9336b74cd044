/**
 * The floor: the least a Node HTTP server must do to fan writes out to watchers, with no cache,
 * no store, no decoding and no resourceVersions. It takes the writer's PUTs, finds the pod's node
 * with one indexOf, frames each write once as a watch line (`{"type":"MODIFIED","object":…}\n`),
 * and once per event-loop turn writes the turn's batch to every watch socket: one buffer for the
 * watchers of everything, one per node for the node watchers (`fieldSelector=spec.nodeName=…`).
 * It ignores backpressure (a slow socket buffers in memory) up to MAX_BUFFERED per socket, then
 * drops the watcher, as etcd's grpc-proxy cancels slow streams: a floor, not a server, but one
 * that cannot eat the machine's memory when the clients fall behind.
 *
 *   node dist/bench/e2e/floor.js     prints "floor serving on http://127.0.0.1:PORT"
 */
import { createServer, type ServerResponse } from 'node:http';
import { setImmediate } from 'node:timers';

const NODE_FIELD = Buffer.from('"nodeName":"', 'latin1');
const HEAD = Buffer.from('{"type":"MODIFIED","object":', 'latin1');
const TAIL = Buffer.from('}\n', 'latin1');
/** Bytes a watch socket may have queued before the floor drops it: about 2 s of the fastest step. */
const MAX_BUFFERED = 4 * 1024 * 1024;

const everything = new Set<ServerResponse>();
const byNode = new Map<string, Set<ServerResponse>>();
let batchAll: Buffer[] = [];
let batchByNode = new Map<string, Buffer[]>();
let scheduled = false;

function send(res: ServerResponse, frames: Buffer): void {
  if (res.writableLength > MAX_BUFFERED) res.destroy();
  else res.write(frames);
}

function flush(): void {
  scheduled = false;
  if (batchAll.length > 0 && everything.size > 0) {
    const frames = Buffer.concat(batchAll);
    for (const res of everything) send(res, frames);
  }
  for (const [node, list] of batchByNode) {
    const sockets = byNode.get(node);
    if (sockets === undefined) continue;
    const frames = Buffer.concat(list);
    for (const res of sockets) send(res, frames);
  }
  batchAll = [];
  batchByNode = new Map();
}

function publish(body: Buffer): void {
  const frame = Buffer.concat([HEAD, body, TAIL]);
  batchAll.push(frame);
  const at = body.indexOf(NODE_FIELD);
  if (at >= 0) {
    const from = at + NODE_FIELD.length;
    const node = body.toString('latin1', from, body.indexOf(0x22, from));
    let list = batchByNode.get(node);
    if (list === undefined) batchByNode.set(node, (list = []));
    list.push(frame);
  }
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://floor');
  if (req.method === 'GET' && url.searchParams.get('watch') !== null) {
    const selector = url.searchParams.get('fieldSelector');
    const node = selector?.startsWith('spec.nodeName=') === true ? selector.slice('spec.nodeName='.length) : null;
    const set = node === null ? everything : (byNode.get(node) ?? byNode.set(node, new Set()).get(node)!);
    set.add(res);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    res.on('close', () => set.delete(res));
    return;
  }
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"0"},"items":[]}');
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    // Creates only answer: the floor keeps no state to preload.
    if (req.method === 'PUT') publish(Buffer.concat(chunks));
    res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' }).end('{}');
  });
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('floor: no port');
  process.stdout.write(`floor serving on http://127.0.0.1:${address.port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
