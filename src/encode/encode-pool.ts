/**
 * The process's pool for stateless heavy encoding jobs (piscina, `atomics: 'async'` so waiting
 * threads do not block the main thread's loop). One pool is shared by every cacher, created on
 * first use and destroyed when the last cacher that used it stops.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { builtPoolEntry } from '../worker-entry.js';
import { unpackFrames } from './packed-frames.js';
import { encodeSnapshot, type SnapshotTask } from './snapshot-task.js';

let pool: Piscina | undefined;
let users = 0;

export class EncodePool {
  #acquired = false;

  /** ADDED frames in the task's format for its stored objects, encoded off the main thread. */
  async snapshot(task: SnapshotTask): Promise<Uint8Array[]> {
    const piscina = this.#pool();
    // Without a build (sources under development) the same job runs inline.
    const buffer = piscina === undefined ? encodeSnapshot(task) : ((await piscina.run(task)) as ArrayBuffer);
    return unpackFrames(buffer);
  }

  async release(): Promise<void> {
    if (!this.#acquired) return;
    this.#acquired = false;
    if (--users > 0 || pool === undefined) return;
    const done = pool;
    pool = undefined;
    await done.destroy();
  }

  #pool(): Piscina | undefined {
    if (!this.#acquired) {
      this.#acquired = true;
      users++;
    }
    if (pool !== undefined) return pool;
    const entry = builtPoolEntry('encode');
    if (entry === undefined) return undefined;
    pool = new Piscina({
      filename: entry.href,
      atomics: 'async',
      minThreads: 0,
      maxThreads: Math.max(1, availableParallelism() - 1),
      idleTimeout: 10_000,
    });
    return pool;
  }
}
