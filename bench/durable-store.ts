/**
 * The durable embedded store, measured: write latency (one write at a time, each synced before it
 * is acknowledged), throughput with concurrent writers (commits shared), recovery time and disk
 * per object for 100k objects. Run: `npx tsx bench/durable-store.ts [--objects N]`.
 *
 * MemoryStorage runs the same write loops as the floor: what durability costs is the difference.
 * Numbers depend on the disk's sync latency; on a shared or virtual machine say what it was.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { DurableStorage } from '../src/storage/durable.js';
import { MemoryStorage } from '../src/storage/memory.js';
import type { Storage } from '../src/storage/storage.js';

const SEQUENTIAL_WRITES = 2_000;
const CONCURRENT_WRITES = 20_000;
const WRITERS = 64;

/** A pod-sized value (about 1 KiB of JSON). */
const VALUE = Buffer.from(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', labels: { app: 'bench' } }, spec: { pad: 'p'.repeat(900) } }));

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

/** One awaited write at a time: the latency a single client sees. */
async function latency(storage: Storage): Promise<{ p50: number; p99: number }> {
  const samples: number[] = [];
  for (let i = 0; i < SEQUENTIAL_WRITES; i++) {
    const started = performance.now();
    await storage.create(`/bench/latency/${i}`, VALUE);
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

/** `WRITERS` clients writing as fast as they are acknowledged. */
async function throughput(storage: Storage, prefix: string, writes: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < writes) await storage.create(`${prefix}${next++}`, VALUE);
    }),
  );
  return writes / ((performance.now() - started) / 1000);
}

function diskBytes(dir: string): { size: number; allocated: number } {
  let size = 0;
  let allocated = 0;
  for (const name of readdirSync(dir)) {
    const stat = statSync(join(dir, name));
    size += stat.size;
    allocated += stat.blocks * 512;
  }
  return { size, allocated };
}

const ms = (n: number): string => `${n.toFixed(2)} ms`;

async function main(): Promise<void> {
  const objectsFlag = process.argv.indexOf('--objects');
  const objects = objectsFlag > 0 ? Number(process.argv[objectsFlag + 1]) : 100_000;
  if (!Number.isSafeInteger(objects) || objects < 1) throw new Error('--objects takes a positive integer');
  const root = mkdtempSync(join(tmpdir(), 'watchcache-bench-durable-'));
  try {
    console.log(`node ${process.version}, ${process.platform}/${process.arch}; data in ${root}`);

    const memory = new MemoryStorage();
    const memoryLatency = await latency(memory);
    const memoryRate = await throughput(memory, '/bench/tput/', CONCURRENT_WRITES);
    await memory.close();
    console.log(`MemoryStorage   write p50 ${ms(memoryLatency.p50)}, p99 ${ms(memoryLatency.p99)}; ${memoryRate.toFixed(0)} writes/s with ${WRITERS} writers`);

    const dir = join(root, 'writes');
    const durable = await DurableStorage.open({ dataDir: dir });
    const durableLatency = await latency(durable);
    const durableRate = await throughput(durable, '/bench/tput/', CONCURRENT_WRITES);
    await durable.close();
    console.log(`DurableStorage  write p50 ${ms(durableLatency.p50)}, p99 ${ms(durableLatency.p99)}; ${durableRate.toFixed(0)} writes/s with ${WRITERS} writers`);

    const bulk = join(root, 'recovery');
    const loading = await DurableStorage.open({ dataDir: bulk });
    const loadRate = await throughput(loading, '/registry/pods/default/pod-', objects);
    await loading.close();
    const opened = performance.now();
    const recovered = await DurableStorage.open({ dataDir: bulk });
    const openMs = performance.now() - opened;
    const { recovery } = recovered.stats();
    await recovered.close();
    const disk = diskBytes(bulk);
    console.log(
      `recovery of ${recovery.objects} objects at revision ${recovery.revision} (${recovery.replayedRevisions} log records replayed): ` +
        `${ms(recovery.durationMs)} (open ${ms(openMs)}); loaded at ${loadRate.toFixed(0)} writes/s`,
    );
    console.log(
      `disk: ${(disk.size / 1024 / 1024).toFixed(1)} MiB file size, ${(disk.allocated / 1024 / 1024).toFixed(1)} MiB allocated; ` +
        `${(disk.allocated / objects).toFixed(0)} bytes per object of ${VALUE.length} bytes`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
