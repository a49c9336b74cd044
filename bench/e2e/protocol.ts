/**
 * The IPC between the orchestrator and its writer and client processes: numbered requests, one
 * reply each ({ id, ok, value } or { id, ok: false, error }), with a time limit on the
 * orchestrator's side, so that a process that hangs or dies fails its system's run instead of
 * the benchmark.
 */
import type { Layout, Mix } from './workload.js';
import type { Proc } from './processes.js';

/** Where writes go or watches come from. */
export type Target = { kind: 'http'; url: string } | { kind: 'etcd'; endpoint: string };

export interface WriterInit {
  target: Target;
  layout: Layout;
  /** Writes in flight at most; below `layout.pods`, so a pod's buffer is never re-marked while in flight. */
  maxInFlight: number;
}

export interface StepOrder {
  firstSeq: number;
  rate: number;
  durationMs: number;
}

export interface StepDone {
  writes: number;
  failures: number;
  /** Sequence numbers of the writes the server refused (not applied: no watcher is owed them). */
  refused: number[];
  firstError: string | null;
  /** From the first send to the last write's completion, ms. */
  elapsedMs: number;
}

export interface ClientOpen {
  target: Target;
  layout: Layout;
  mix: Mix;
  /** Global watcher indices [first, first + count): watcher w watches node-w in the kubelet mix. */
  first: number;
  count: number;
  /** Watch from after this revision. */
  revision: string;
  /** The first sequence number these watchers will see. */
  baseSeq: number;
  /** A delivery later than this after its write counts as late, ms. */
  lateMs: number;
}

export interface DrainOrder {
  /** Every write with a sequence number below this has been made... */
  upTo: number;
  /** ...except these, which the server refused. */
  refused: number[];
  timeoutMs: number;
}

export interface ClientStats {
  /** Deliveries received since the last drain that the watchers wanted. */
  received: number;
  /** Deliveries the writes up to `upTo` owe these watchers since the last drain. */
  expected: number;
  /** Expected deliveries not received so far (all steps). */
  missing: number;
  duplicates: number;
  /** Events a watcher should not have got (wrong node, before its start). */
  extra: number;
  /** Events a raw etcd watcher received and dropped itself (not its node). */
  filtered: number;
  /** ERROR events, stream errors, watches that ended. */
  errors: number;
  firstError: string | null;
  histogram: { counts: number[]; late: number; max: number };
  /** From the drain order to the last expected delivery (or the timeout), ms. */
  drainMs: number;
}

export type Request = { type: 'init'; init: WriterInit } | { type: 'preload' } | { type: 'revision' } | { type: 'step'; order: StepOrder } | { type: 'open'; open: ClientOpen } | { type: 'drain'; order: DrainOrder };

export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/** The child side: answers every request with `handle`. */
export function serve(handle: (request: Request) => Promise<unknown>): void {
  process.on('message', (m: { id: number; request: Request }) => {
    handle(m.request).then(
      (value) => process.send!({ id: m.id, ok: true, value } satisfies Reply),
      (err: unknown) => process.send!({ id: m.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies Reply),
    );
  });
  // The orchestrator going away ends the child too.
  process.on('disconnect', () => process.exit(0));
}

/** The orchestrator side. */
export class Rpc {
  readonly proc: Proc;
  #next = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(proc: Proc) {
    this.proc = proc;
    proc.child.on('message', (reply: Reply) => {
      const p = this.#pending.get(reply.id);
      if (p === undefined) return;
      this.#pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.value);
      else p.reject(new Error(`${proc.name}: ${reply.error}`));
    });
    void proc.exited.then(() => {
      for (const p of this.#pending.values()) p.reject(new Error(`${proc.name} exited: ${proc.stderrTail}`));
      this.#pending.clear();
    });
  }

  call<T>(request: Request, timeoutMs: number): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${this.proc.name}: no answer to ${request.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      if (!this.proc.running || this.proc.child.connected !== true) {
        this.#pending.delete(id);
        clearTimeout(timer);
        reject(new Error(`${this.proc.name} is not running: ${this.proc.stderrTail}`));
        return;
      }
      this.proc.child.send({ id, request });
    });
  }
}
