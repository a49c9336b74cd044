/**
 * /metrics as Prometheus scrapes it: a real HTTP GET, the text exposition format parsed line by
 * line, and the series checked against what the test did to the server (requests, watches,
 * writes, a watcher that fell out of the window).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/server/prometheus.js';
import { call, createPod, POD_SPEC, eventually, openWatch, startTestServer, synced, type TestServer } from './http-helpers.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  samples: Sample[];
  /** Metric family → its TYPE. */
  types: Map<string, string>;
  help: Set<string>;
}

// Values as Prometheus reads them (Go's ParseFloat: NaN and Inf in any case; prom-client writes "Nan").
const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([+-]?(?:[0-9.eE+-]+|nan|inf))$/i;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the Prometheus text format (0.0.4); any line it does not recognise fails the test. */
function parse(text: string): Exposition {
  const out: Exposition = { samples: [], types: new Map(), help: new Set() };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (comment !== null) {
      if (comment[1] === 'TYPE') out.types.set(comment[2]!, comment[3]!);
      else out.help.add(comment[2]!);
      continue;
    }
    const sample = SAMPLE_LINE.exec(line);
    if (sample === null) throw new Error(`not a Prometheus exposition line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (sample[2] ?? '').matchAll(LABEL)) labels[key!] = value!;
    const raw = sample[3]!.toLowerCase();
    out.samples.push({ name: sample[1]!, labels, value: raw === 'nan' ? NaN : raw.endsWith('inf') ? (raw.startsWith('-') ? -Infinity : Infinity) : Number(raw) });
  }
  return out;
}

/** The family a sample belongs to (histograms and summaries add suffixes). */
function family(name: string, types: Map<string, string>): string {
  if (types.has(name)) return name;
  return name.replace(/_(bucket|sum|count)$/, '');
}

async function scrape(url: string): Promise<Exposition> {
  const reply = await call(url, '/metrics');
  expect(reply.status, reply.text).toBe(200);
  expect(reply.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parse(reply.text);
}

/** The value of the one sample of `name` whose labels include `labels`; undefined if none. */
function value(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

/** Scrapes until `check` holds for the scrape (series that the server updates after responding). */
async function scrapeUntil(url: string, what: string, check: (e: Exposition) => boolean): Promise<Exposition> {
  let last: Exposition | undefined;
  try {
    await eventually(what, async () => check((last = await scrape(url))));
  } catch (err) {
    const seen = last?.samples.filter((s) => !/^(process|nodejs)_/.test(s.name)).map((s) => `${s.name}${JSON.stringify(s.labels)} ${s.value}`);
    throw new Error(`${(err as Error).message}; last scrape: ${JSON.stringify(seen)}`);
  }
  return last!;
}

const POD_PATH = '/api/v1/namespaces/default/pods';
const bigPod = (name: string): unknown => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, annotations: { filler: 'x'.repeat(1024) } },
  spec: POD_SPEC,
});

describe('/metrics (prom-client)', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('serves the Prometheus text format: every series has HELP and TYPE, with process and Node.js series', async () => {
    t = await startTestServer({ metrics: createMetrics(), workers: 0 });
    const e = await scrape(t.url);
    expect(e.samples.length).toBeGreaterThan(50);
    for (const sample of e.samples) {
      const name = family(sample.name, e.types);
      expect(e.types.has(name), `TYPE of ${sample.name}`).toBe(true);
      expect(e.help.has(name), `HELP of ${sample.name}`).toBe(true);
    }
    expect(e.types.get('apiserver_request_duration_seconds')).toBe('histogram');
    expect(e.types.get('apiserver_watch_cache_initializations_total')).toBe('counter');
    expect(e.types.get('watch_cache_capacity')).toBe('gauge');
    expect(value(e, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(value(e, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    // HEAD gets the headers only.
    const head = await fetch(`${t.url}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('apiserver_request_total and apiserver_request_duration_seconds count requests by verb, resource and code', async () => {
    t = await startTestServer({ metrics: createMetrics(), workers: 0 });
    for (const name of ['r1', 'r2', 'r3']) await createPod(t.url, name);
    expect((await call(t.url, POD_PATH, { method: 'POST', json: bigPod('r1') })).status).toBe(409);
    expect((await call(t.url, `${POD_PATH}/nope`)).status).toBe(404);
    expect((await call(t.url, POD_PATH)).status).toBe(200);
    expect((await call(t.url, '/api/v1/pods')).status).toBe(200);
    expect((await call(t.url, `${POD_PATH}/r2`, { method: 'DELETE' })).status).toBe(200);
    expect((await call(t.url, '/api/v1/nodes')).status).toBe(200);

    // A request is counted when its response closes, just after the client has it: wait for the last one.
    const e = await scrapeUntil(t.url, 'the last request to be counted', (s) => value(s, 'apiserver_request_total', { verb: 'LIST', resource: 'nodes' }) === 1);
    const requests = (labels: Record<string, string>): number | undefined => value(e, 'apiserver_request_total', labels);
    expect(requests({ verb: 'CREATE', resource: 'pods', code: '201' })).toBe(3);
    expect(requests({ verb: 'CREATE', resource: 'pods', code: '409' })).toBe(1);
    expect(requests({ verb: 'GET', resource: 'pods', code: '404' })).toBe(1);
    expect(requests({ verb: 'LIST', resource: 'pods', code: '200' })).toBe(2);
    expect(requests({ verb: 'LIST', resource: 'nodes', code: '200' })).toBe(1);
    expect(requests({ verb: 'DELETE', resource: 'pods', code: '200' })).toBe(1);

    const list = { verb: 'LIST', resource: 'pods' };
    expect(value(e, 'apiserver_request_duration_seconds_count', list)).toBe(2);
    expect(value(e, 'apiserver_request_duration_seconds_bucket', { ...list, le: '+Inf' })).toBe(2);
    expect(value(e, 'apiserver_request_duration_seconds_sum', list)).toBeGreaterThan(0);
    const buckets = e.samples.filter((s) => s.name === 'apiserver_request_duration_seconds_bucket' && s.labels.verb === 'LIST' && s.labels.resource === 'pods');
    expect(buckets.map((b) => b.labels.le)).toContain('60');
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);

    // The scrape itself is a request too: a non-resource GET.
    const next = await scrapeUntil(t.url, 'the first scrape to be counted', (s) => (value(s, 'apiserver_request_total', { verb: 'GET', resource: '', code: '200' }) ?? 0) >= 1);
    expect(value(next, 'apiserver_request_total', { verb: 'GET', resource: '', code: '200' })).toBeGreaterThanOrEqual(1);
  });

  it('apiserver_longrunning_requests follows the HTTP watches; watchcache_watch_ends_total says who ended them', async () => {
    t = await startTestServer({ metrics: createMetrics(), workers: 0 });
    const rv = (await call(t.url, '/api/v1/configmaps')).json.metadata.resourceVersion as string;
    const byClient = await openWatch(t.url, `/api/v1/configmaps?watch=true&resourceVersion=${rv}`);
    const byServer = await openWatch(t.url, `/api/v1/configmaps?watch=true&resourceVersion=${rv}&timeoutSeconds=1`);
    const watching = { verb: 'WATCH', resource: 'configmaps' };
    let e = await scrapeUntil(t.url, 'two running watches', (s) => value(s, 'apiserver_longrunning_requests', watching) === 2);
    expect(value(e, 'watchcache_watchers', { group: '', resource: 'configmaps' })).toBe(2);

    byClient.close();
    await byServer.untilEnded(15_000);
    e = await scrapeUntil(t.url, 'both watches to end', (s) => value(s, 'apiserver_longrunning_requests', watching) === 0);
    expect(value(e, 'watchcache_watch_ends_total', { resource: 'configmaps', reason: 'client' })).toBe(1);
    expect(value(e, 'watchcache_watch_ends_total', { resource: 'configmaps', reason: 'server' })).toBe(1);
    e = await scrapeUntil(t.url, 'both watches counted as requests', (s) => value(s, 'apiserver_request_total', { verb: 'WATCH', resource: 'configmaps', code: '200' }) === 2);
    expect(value(e, 'watchcache_watchers', { group: '', resource: 'configmaps' })).toBe(0);
  });

  it('cache series come from the caches at scrape time: revision, objects, window, initializations, readiness', async () => {
    t = await startTestServer({ metrics: createMetrics(), workers: 0, cacher: { windowBytes: 1 << 20 } });
    const pods = { group: '', resource: 'pods' };
    let last = 0;
    for (let i = 0; i < 5; i++) last = await createPod(t.url, `c${i}`);
    const deleted = await call(t.url, `${POD_PATH}/c0`, { method: 'DELETE' });
    last = Number(deleted.json.metadata.resourceVersion);
    await synced(t.cacher('pods'), last);

    const e = await scrape(t.url);
    expect(value(e, 'apiserver_watch_cache_resource_version', pods)).toBe(last);
    expect(value(e, 'watchcache_objects', pods)).toBe(4);
    expect(value(e, 'watch_cache_capacity', pods)).toBe(1 << 20);
    const inUse = value(e, 'watchcache_window_bytes_in_use', pods)!;
    expect(inUse).toBeGreaterThan(0);
    expect(inUse).toBeLessThanOrEqual(1 << 20);
    expect(value(e, 'watchcache_window_seconds', pods)).toBeGreaterThanOrEqual(0);
    expect(value(e, 'apiserver_watch_cache_initializations_total', pods)).toBe(1);
    expect(value(e, 'apiserver_watch_cache_initialization_errors_total', pods)).toBe(0);
    expect(value(e, 'watchcache_ready', pods)).toBe(1);
    expect(value(e, 'apiserver_watch_cache_consistent_read_total', { ...pods, fallback: 'true' })).toBe(0);
    expect(value(e, 'watchcache_window_short_evictions_total', pods)).toBe(0);
    // A fixed window (windowBytes) never resizes.
    expect(value(e, 'watch_cache_capacity_increase_total', pods)).toBe(0);
    expect(value(e, 'watch_cache_capacity_decrease_total', pods)).toBe(0);
    expect(value(e, 'watchcache_decode_errors_total', pods)).toBe(0);
    // Every served resource has its series, custom or built in.
    expect(value(e, 'watchcache_ready', { group: '', resource: 'namespaces' })).toBe(1);
  });

  it('dispatch series: events received, frames delivered, watchers per dispatcher and partition, delivery latency', async () => {
    const server = (t = await startTestServer({ metrics: createMetrics(), workers: 0 }));
    const pods = { group: '', resource: 'pods' };
    const rv = (await call(server.url, '/api/v1/pods')).json.metadata.resourceVersion as string;
    const watches = await Promise.all([1, 2, 3].map(() => openWatch(server.url, `/api/v1/pods?watch=true&resourceVersion=${rv}`)));
    for (let i = 0; i < 4; i++) await createPod(server.url, `d${i}`);
    for (const w of watches) await w.untilEvents(4, 15_000);
    // Dispatcher status arrives with its tick (about once a second).
    const e = await scrapeUntil(server.url, 'a dispatcher tick with 3 watchers', (s) => value(s, 'watchcache_dispatcher_watchers', { ...pods, dispatcher: '0' }) === 3);
    expect(value(e, 'apiserver_watch_cache_events_received_total', pods)).toBe(4);
    expect(value(e, 'watchcache_frames_delivered_total', pods)).toBe(12);
    expect(value(e, 'watchcache_delivery_batches_total', pods)).toBeGreaterThanOrEqual(1);
    expect(value(e, 'watchcache_dispatcher_lag_revisions', { ...pods, dispatcher: '0' })).toBeGreaterThanOrEqual(0);
    const partitions = e.samples.filter((x) => x.name === 'watchcache_partition_watchers' && x.labels.resource === 'pods');
    expect(partitions.reduce((sum, x) => sum + x.value, 0)).toBe(3);
    expect(value(e, 'watchcache_delivery_latency_seconds_count', { resource: 'pods' })).toBeGreaterThanOrEqual(1);
    for (const w of watches) w.close();
  });

  it('apiserver_terminated_watchers_total counts a watcher that fell out of the window, by reason', async () => {
    t = await startTestServer({ metrics: createMetrics(), workers: 0, cacher: { windowBytes: 65_536, bufferEvents: 4 } });
    const cacher = t.cacher('pods');
    const from = await createPod(t.url, 'first');
    await synced(cacher, from);
    // A watcher whose consumer never reads: it stalls on its own cursor after 4 events, and ~100 KiB
    // of writes overwrite that cursor in a 64 KiB window.
    const unread = await cacher.watch({ resourceVersion: String(from) });
    for (let i = 0; i < 100; i++) expect((await call(t.url, POD_PATH, { method: 'POST', json: bigPod(`big-${i}`) })).status).toBe(201);
    const pods = { group: '', resource: 'pods' };
    const e = await scrapeUntil(t.url, 'the lapped watcher to be counted', (s) => value(s, 'apiserver_terminated_watchers_total', { ...pods, reason: 'lapped' }) === 1);
    expect(value(e, 'watch_cache_capacity', pods)).toBe(65_536);
    expect(value(e, 'watchcache_window_bytes_in_use', pods)).toBeLessThanOrEqual(65_536);
    unread.stop();
  });
});
