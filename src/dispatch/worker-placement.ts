/**
 * Dispatchers on worker threads: a small supervisor of long-lived worker_threads, one dispatcher
 * each (a task pool cannot pin watcher state to a thread). Each worker attaches to the ring
 * itself and is spoken to with the same messages as the inline dispatcher. A worker that dies is
 * reported (its watchers end with an ERROR) and replaced by a fresh one attached to the ring.
 */
import { Worker } from 'node:worker_threads';
import { ErrorCodes, type WireError } from '../errors.js';
import { workerEntry } from '../worker-entry.js';
import type { OutputHandler, Placement } from './placement.js';
import { readPacked } from '../encode/packed-frames.js';
import type { DispatcherConfig, DispatcherInput, WorkerOutput } from './protocol.js';

/** Told when dispatcher `index` died; its watchers are gone with it. */
export type CrashHandler = (index: number, error: WireError) => void;

/** How long stop() waits for a dispatcher to close its watchers before ending its thread anyway. */
const STOP_GRACE_MS = 2_000;

export class WorkerPlacement implements Placement {
  readonly size: number;
  readonly #config: DispatcherConfig;
  readonly #onOutput: OutputHandler;
  readonly #onCrash: CrashHandler;
  readonly #workers: Worker[] = [];
  readonly #exited: Array<Promise<void>> = [];
  readonly #online: Array<Promise<void>> = [];
  #stopping = false;

  constructor(workers: number, config: DispatcherConfig, onOutput: OutputHandler, onCrash: CrashHandler) {
    this.size = workers;
    this.#config = config;
    this.#onOutput = onOutput;
    this.#onCrash = onCrash;
    for (let i = 0; i < workers; i++) this.#start(i);
  }

  /** Thread ids of the live workers, by dispatcher index. */
  get threadIds(): number[] {
    return this.#workers.map((w) => w.threadId);
  }

  ready(): Promise<void> {
    return Promise.all(this.#online).then(() => undefined);
  }

  post(index: number, message: DispatcherInput): void {
    // Workers learn of new records from the ring itself (they wait on its publish counter).
    if (message.type === 'publish') return;
    this.#workers[index]!.postMessage(message);
  }

  broadcast(message: DispatcherInput): void {
    if (message.type === 'publish') return;
    for (const worker of this.#workers) worker.postMessage(message);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    // Each dispatcher closes its watchers and answers 'stopped' (those closes arrive first);
    // then the thread is ended rather than left to wind down its ring wait.
    await Promise.all(
      this.#workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, STOP_GRACE_MS);
            worker.on('message', (message: WorkerOutput) => {
              if (message.type !== 'stopped') return;
              clearTimeout(timer);
              resolve();
            });
            worker.postMessage({ type: 'stop' } satisfies DispatcherInput);
          }),
      ),
    );
    await Promise.all(this.#workers.map((worker) => worker.terminate()));
    await Promise.all(this.#exited);
  }

  /** Kill dispatcher `index` as a crash would (for tests and operators): it is reported and replaced. */
  async terminate(index: number): Promise<void> {
    await this.#workers[index]!.terminate();
  }

  #start(index: number): void {
    const { url, entry } = workerEntry('dispatcher');
    const workerData = entry === undefined ? this.#config : { ...this.#config, entry };
    const worker = new Worker(url, { workerData, name: `watchcache-dispatcher-${index}` });
    this.#workers[index] = worker;
    let error: Error | undefined;
    let stopped = false;
    let online: () => void = () => undefined;
    this.#online[index] = new Promise<void>((resolve) => (online = resolve));
    worker.on('message', (message: WorkerOutput) => {
      if (message.type === 'deliverPacked') {
        // Read in place: the ids and refs are the transferred arrays, a buffer a view per distinct buffer.
        const { refs, distinct } = readPacked(message.packed);
        const { ids, chunkStart, chunkCounts, frames, rv } = message;
        const batch = { ids, refs, buffers: distinct, chunkStart, chunkCounts, frames, rv };
        this.#onOutput({ type: 'deliver', batch }, index);
        return;
      }
      if (message.type === 'online') return online();
      if (message.type === 'stopped') stopped = true;
      this.#onOutput(message, index);
    });
    worker.on('error', (err) => (error = err));
    this.#exited[index] = new Promise<void>((resolve) => {
      worker.once('exit', (code) => {
        resolve();
        online();
        if (this.#stopping || stopped) return;
        const why = error === undefined ? `exit code ${code}` : error.message;
        this.#onCrash(index, { code: ErrorCodes.INTERNAL, message: `dispatcher worker ${index} died (${why}); watch again` });
        this.#start(index);
      });
    });
  }
}
