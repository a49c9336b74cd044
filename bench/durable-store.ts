/**
 * The durable embedded store, measured: write latency (one write at a time, each synced before it
 * is acknowledged), throughput with concurrent writers (commits shared), recovery time and disk
 * per object for 100k objects. Run: `npx tsx bench/durable-store.ts [--objects N] [--engines]`.
 *
 * MemoryStorage runs the same write loops as the floor: what durability costs is the difference.
 * `--engines` also measures the raw engines evaluated for it, one synced put at a time and with
 * concurrent writers: lmdb, and classic-level when it is installed (it is not a dependency).
 * Numbers depend on the disk's sync latency; on a shared or virtual machine say what it was.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { open as openLmdb } from 'lmdb';
import { parseFlags } from '../src/command-line.js';
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

type Write = (i: number) => Promise<unknown>;

/** One awaited write at a time: the latency a single client sees. */
async function latency(write: Write): Promise<{ p50: number; p99: number }> {
  const samples: number[] = [];
  for (let i = 0; i < SEQUENTIAL_WRITES; i++) {
    const started = performance.now();
    await write(i);
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

/** `WRITERS` clients writing as fast as they are acknowledged. */
async function throughput(write: Write, writes: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < writes) await write(next++);
    }),
  );
  return writes / ((performance.now() - started) / 1000);
}

const creates = (storage: Storage, prefix: string): Write => (i) => storage.create(`${prefix}${i}`, VALUE);

async function report(name: string, write: Write, writeMore: Write): Promise<void> {
  const { p50, p99 } = await latency(write);
  const rate = await throughput(writeMore, CONCURRENT_WRITES);
  console.log(`${name.padEnd(26)} write p50 ${ms(p50)}, p99 ${ms(p99)}; ${rate.toFixed(0)} writes/s with ${WRITERS} writers`);
}

/** The engines alone: a synced put of the same value, no MVCC around it. */
async function engines(root: string): Promise<void> {
  const lmdb = openLmdb({ path: join(root, 'raw-lmdb'), overlappingSync: true, separateFlushed: true });
  const lmdbPut: Write = async (i) => {
    const committed = lmdb.put(i, VALUE) as Promise<boolean> & { flushed: Promise<unknown> };
    await committed;
    await committed.flushed;
  };
  await report('raw lmdb (flushed)', lmdbPut, (i) => lmdbPut(SEQUENTIAL_WRITES + i));
  await lmdb.close();
  // Not a dependency: measured only where it is installed (`npm install --no-save classic-level`).
  const specifier = 'classic-level';
  let level: { ClassicLevel: new (path: string, options: object) => LevelDb } | undefined;
  try {
    level = (await import(specifier)) as typeof level;
  } catch {
    console.log('classic-level: not installed, skipped');
  }
  if (level !== undefined) {
    const db = new level.ClassicLevel(join(root, 'raw-level'), { valueEncoding: 'buffer' });
    const put: Write = (i) => db.put(String(i).padStart(12, '0'), VALUE, { sync: true });
    await report('raw classic-level (sync)', put, (i) => put(SEQUENTIAL_WRITES + i));
    await db.close();
  }
}

interface LevelDb {
  put(key: string, value: Uint8Array, options: { sync: boolean }): Promise<void>;
  close(): Promise<void>;
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
  let objects = 100_000;
  let withEngines = false;
  for (const flag of parseFlags(process.argv.slice(2), { objects: { type: 'string' }, engines: { type: 'boolean' } })) {
    if (flag.name === 'engines') withEngines = true;
    else objects = Number(flag.value);
  }
  if (!Number.isSafeInteger(objects) || objects < 1) throw new Error('--objects takes a positive integer');
  const root = mkdtempSync(join(tmpdir(), 'watchcache-bench-durable-'));
  try {
    console.log(`node ${process.version}, ${process.platform}/${process.arch}; data in ${root}`);

    if (withEngines) await engines(root);

    const memory = new MemoryStorage();
    await report('MemoryStorage', creates(memory, '/bench/latency/'), creates(memory, '/bench/tput/'));
    await memory.close();

    const durable = await DurableStorage.open({ dataDir: join(root, 'writes') });
    await report('DurableStorage', creates(durable, '/bench/latency/'), creates(durable, '/bench/tput/'));
    await durable.close();

    const bulk = join(root, 'recovery');
    const loading = await DurableStorage.open({ dataDir: bulk });
    const loadRate = await throughput(creates(loading, '/registry/pods/default/pod-'), objects);
    await loading.close();
    console.log(`loaded ${objects} objects at ${loadRate.toFixed(0)} writes/s`);
    // Three recoveries: wall time swings with the machine's load, CPU time much less.
    for (let run = 1; run <= 3; run++) {
      const cpu = process.cpuUsage();
      const opened = performance.now();
      const recovered = await DurableStorage.open({ dataDir: bulk });
      const openMs = performance.now() - opened;
      const used = process.cpuUsage(cpu);
      const cpuMs = (used.user + used.system) / 1000;
      const { recovery } = recovered.stats();
      await recovered.close();
      console.log(
        `recovery ${run}: ${recovery.objects} objects at revision ${recovery.revision} (${recovery.replayedRevisions} log records replayed) ` +
          `in ${ms(recovery.durationMs)} (open ${ms(openMs)}, CPU ${ms(cpuMs)})`,
      );
    }
    const disk = diskBytes(bulk);
    console.log(
      `disk: ${(disk.size / 1024 / 1024).toFixed(1)} MiB file size, ${(disk.allocated / 1024 / 1024).toFixed(1)} MiB allocated; ` +
        `${(disk.allocated / objects).toFixed(0)} bytes per object of ${VALUE.length} bytes`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
