/**
 * Frames in every format and view are built the same in a dispatcher thread as inline: a seeded
 * history watched in JSON, protobuf, Tables (v1 and v1beta1, each includeObject) and
 * PartialObjectMetadata, from RV 0 (initial events) and from the current RV, gives byte-identical
 * streams with workers 0 and 1; and each view's stream is the JSON stream converted event by event
 * (one frame per event, the Table's columns in its first frame only).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createCacher, type Cacher, type FrameWatchOptions } from '../../src/cache/cacher.js';
import type { FrameSink } from '../../src/delivery/frame-stream.js';
import type { WatchView } from '../../src/encode/view-codec.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { POD_SCHEMA, Pods, type PodSpec } from '../helpers/pods.js';
import { seededRandom } from '../helpers/random.js';

const FORMATS: { name: string; options: Pick<FrameWatchOptions, 'encoding' | 'view'> }[] = [
  { name: 'json', options: {} },
  { name: 'protobuf', options: { encoding: 'protobuf' } },
  { name: 'table v1 Metadata', options: { view: { kind: 'table', version: 'v1', include: 'Metadata' } } },
  { name: 'table v1beta1 Object', options: { view: { kind: 'table', version: 'v1beta1', include: 'Object' } } },
  { name: 'table v1 None', options: { view: { kind: 'table', version: 'v1', include: 'None' } } },
  { name: 'metadata v1', options: { view: { kind: 'metadata', version: 'v1' } } },
];
const SELECTORS = [{}, { labelSelector: 'app=a' }, { fieldSelector: 'spec.nodeName=n1' }];

class Collect implements FrameSink {
  readonly frames: Buffer[] = [];
  push(frame: Uint8Array): void {
    this.frames.push(Buffer.from(frame));
  }
  end(errorFrame?: Uint8Array): void {
    if (errorFrame !== undefined) this.frames.push(Buffer.from(errorFrame));
  }
}

const cachers: Cacher[] = [];
afterEach(async () => {
  await Promise.all(cachers.splice(0).map((c) => c.stop()));
});

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Every watcher's frames, by `format selector start`. */
async function run(workers: number, seed: number): Promise<Map<string, Buffer[]>> {
  const storage = new MemoryStorage();
  const pods = new Pods(storage, '/registry/pods/');
  const cacher = createCacher({ storage, prefix: pods.prefix, ...POD_SCHEMA, workers });
  cachers.push(cacher);
  const next = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const spec = (): PodSpec => ({ name: pick(['p0', 'p1', 'p2', 'p3', 'p4']), namespace: 'ns', labels: { app: pick(['a', 'b']) }, nodeName: pick(['n0', 'n1']) });
  for (let i = 0; i < 10; i++) await pods.put(spec());
  await cacher.ready();
  const sinks = new Map<string, Collect>();
  const from = String(cacher.revision);
  for (const start of ['0', from]) {
    for (const selector of SELECTORS) {
      for (const format of FORMATS) {
        const sink = new Collect();
        sinks.set(`${format.name} ${JSON.stringify(selector)} ${start}`, sink);
        await cacher.watchFrames({ ...selector, ...format.options, resourceVersion: start }, sink);
      }
    }
  }
  for (let i = 0; i < 60; i++) {
    if (next() < 0.2) await pods.delete(pick(['p0', 'p1', 'p2', 'p3', 'p4']), 'ns').catch(() => undefined);
    else await pods.put(spec());
  }
  // Every watcher's last event: a pod every selector matches.
  await pods.put({ name: 'zz-end', namespace: 'ns', labels: { app: 'a' }, nodeName: 'n1' });
  for (const [key, sink] of sinks) {
    if (!key.startsWith('json ')) continue;
    await until(`${key} to see zz-end`, () => sink.frames.at(-1)?.includes('"zz-end"') === true);
    const count = sink.frames.length;
    for (const format of FORMATS) {
      const other = sinks.get(key.replace(/^json /, `${format.name} `))!;
      await until(`${format.name} to see ${count} frames`, () => other.frames.length >= count);
    }
  }
  return new Map([...sinks].map(([key, sink]) => [key, sink.frames]));
}

function lines(frames: readonly Buffer[]): { type: string; object: any }[] {
  return frames.map((f) => JSON.parse(f.toString('utf8')));
}

describe('views in dispatcher threads', () => {
  it('workers 0 and 1 build byte-identical frames in every format and view, one per event', async () => {
    const inline = await run(0, 11);
    const threaded = await run(1, 11);
    expect([...threaded.keys()]).toEqual([...inline.keys()]);
    for (const [key, frames] of inline) expect(threaded.get(key), key).toEqual(frames);

    for (const [key, frames] of inline) {
      const [format] = FORMATS.filter((f) => key.startsWith(`${f.name} `));
      if (format === undefined || format.name === 'json' || format.name === 'protobuf') continue;
      const json = lines(inline.get(key.replace(format.name, 'json'))!);
      const view = lines(frames);
      expect(view.map((e) => e.type)).toEqual(json.map((e) => e.type));
      const options = format.options.view as WatchView;
      view.forEach((e, i) => {
        const object = json[i]!.object;
        if (options.kind === 'metadata') {
          expect(e.object).toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata });
          return;
        }
        expect(e.object.apiVersion).toBe(`meta.k8s.io/${options.version}`);
        expect(e.object.columnDefinitions === null).toBe(i > 0);
        expect(e.object.metadata).toEqual({ resourceVersion: object.metadata.resourceVersion });
        expect(e.object.rows).toHaveLength(1);
        expect(e.object.rows[0].cells[0]).toBe(object.metadata.name);
        const shown = options.include === 'None' ? null : options.include === 'Object' ? object : { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${options.version}`, metadata: object.metadata };
        expect(e.object.rows[0].object).toEqual(shown);
      });
    }
  }, 120_000);
});
