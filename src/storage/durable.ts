/**
 * DurableStorage: the embedded store kept on disk (`watchcache serve --data-dir DIR`), on LMDB
 * (the `lmdb` package, prebuilt binaries). Reads and watches are served by a MemoryStorage that
 * holds the current state and the retained history; the disk holds the same MVCC state as
 *
 * - `log`: one record per revision (revision → the write), from the compact revision on;
 * - `state`: every key live at the revision before the compact revision, keyed by its create
 *   revision (unique per incarnation of a key, and a number: no limit on the key's length);
 * - `meta`: the compact revision.
 *
 * A write is staged (its precondition checked against every earlier write, staged or not), put in
 * the log, and acknowledged only once LMDB's commit of it is synced to disk; then it is applied to
 * the MemoryStorage, in revision order, so readers and watches never see a write that could still
 * be lost. Writes of one event turn share one LMDB transaction and one sync (group commit).
 * Compaction folds the log below the new compact revision into `state` in one transaction, so the
 * disk stays bounded by the live keys plus the retained revisions. At open, the state and the log
 * are replayed into memory: revisions continue, and watches resume from any retained revision.
 *
 * Why one file of ~540 lines: staging, group commit, compaction and recovery share the on-disk
 * layout above and one ordering rule (durable before visible); each half is unreadable alone.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { open as openLmdb, type Database, type RootDatabase } from 'lmdb';
import { CompactedError, ErrorCodes, invalidStorageArgument, positiveOption, StorageError } from '../errors.js';
import { checkKey, checkRevision, checkValue } from './arguments.js';
import { checkPrecondition, MemoryStorage } from './memory.js';
import type {
  DeleteResult,
  GetResult,
  KeyValue,
  Storage,
  StorageGetOptions,
  StorageListOptions,
  StorageListResult,
  StorageWatchOptions,
  WatchBatch,
  WriteOptions,
} from './storage.js';

export interface DurableStorageOptions {
  /** The directory the store lives in; created if missing. One process at a time may open it. */
  dataDir: string;
  /** As MemoryStorage's: revisions of history kept, in memory and on disk. Default 10,000. */
  retainRevisions?: number;
  /** As MemoryStorage's. */
  progressNotifyIntervalMs?: number;
  /** As MemoryStorage's. */
  maxBatchRevisions?: number;
}

/** What opening the store found on disk and how long rebuilding its memory took. */
export interface RecoveryStats {
  /** Keys live after recovery. */
  readonly objects: number;
  readonly revision: number;
  readonly compactRevision: number;
  /** Log records replayed on top of the compacted state. */
  readonly replayedRevisions: number;
  /** Records past a gap in the log, dropped (writes that failed and were never acknowledged). */
  readonly droppedRevisions: number;
  readonly durationMs: number;
}

export interface DurableStorageStats {
  readonly recovery: RecoveryStats;
  readonly revision: number;
  readonly compactRevision: number;
  /** Revisions held in the on-disk log. */
  readonly logRecords: number;
}

const DEFAULT_RETAIN_REVISIONS = 10_000;
const FORMAT = 1;
/** Keys of the `meta` database. */
const COMPACT_REVISION = 'compactRevision';
const FORMAT_KEY = 'format';
const LOCK_FILE = 'watchcache.pid';

/** A log record: a put `[0, key, value, createRevision, version]` or a delete `[1, key, createRevision of the deleted key]`. */
type LogRecord = readonly [0, string, Uint8Array, number, number] | readonly [1, string, number];
/** A `state` record, keyed by create revision: `[key, value, modRevision, version]`. */
type StateRecord = readonly [string, Uint8Array, number, number];

/** The newest staged (possibly not yet durable) version of a key. */
interface Staged {
  readonly revision: number;
  readonly kv: KeyValue | null;
}

export class DurableStorage implements Storage {
  readonly #root: RootDatabase;
  readonly #meta: Database<number, string>;
  readonly #log: Database<LogRecord, number>;
  readonly #state: Database<StateRecord, number>;
  readonly #memory: MemoryStorage;
  readonly #retainRevisions: number;
  readonly #lockPath: string;
  readonly #recovery: RecoveryStats;

  /** Writes staged but not yet applied to memory, newest per key. */
  readonly #staged = new Map<string, Staged>();
  #stagedRevision: number;
  /** The newest revision applied to memory (durable and visible). */
  #appliedRevision: number;
  #compactRevision: number;
  /** Staged writes, applied to memory one at a time in revision order once durable. */
  readonly #writes = new SerialQueue(() => this.#failure);
  /**
   * Compactions, one at a time but beside the writes: what they fold is durable and applied
   * already, and later writes need not wait for them.
   */
  readonly #compactions = new SerialQueue(() => this.#failure);
  /** The first failed commit: afterwards nothing more is acknowledged. */
  #failure: StorageError | undefined;
  #closing: Promise<void> | undefined;

  /** Opens (or creates) the store in `options.dataDir` and rebuilds its memory from disk. */
  static async open(options: DurableStorageOptions): Promise<DurableStorage> {
    if (typeof options.dataDir !== 'string' || options.dataDir === '') throw invalidStorageArgument('dataDir must be a non-empty path');
    const retainRevisions = positiveOption('retainRevisions', options.retainRevisions, DEFAULT_RETAIN_REVISIONS, { unbounded: true, error: invalidStorageArgument });
    const memoryOptions = {
      ...(options.progressNotifyIntervalMs === undefined ? {} : { progressNotifyIntervalMs: options.progressNotifyIntervalMs }),
      ...(options.maxBatchRevisions === undefined ? {} : { maxBatchRevisions: options.maxBatchRevisions }),
      // Compaction is decided here, so that memory and disk compact at the same revisions.
      retainRevisions: Infinity,
    };
    new MemoryStorage(memoryOptions); // refuses bad options before anything touches the disk

    mkdirSync(options.dataDir, { recursive: true });
    const lockPath = join(resolve(options.dataDir), LOCK_FILE);
    lockDataDir(lockPath);
    let root: RootDatabase | undefined;
    try {
      // A write is acknowledged once its commit is flushed (`flushed` of each put); overlapping
      // sync lets the next transaction commit while the previous one is being synced.
      root = openLmdb({ path: options.dataDir, overlappingSync: true, separateFlushed: true });
      const meta = root.openDB<number, string>({ name: 'meta' });
      const format = meta.get(FORMAT_KEY);
      if (format === undefined) await meta.put(FORMAT_KEY, FORMAT);
      else if (format !== FORMAT) throw new StorageError(ErrorCodes.UNAVAILABLE, `${options.dataDir}: unknown store format ${String(format)}`);
      const log = root.openDB<LogRecord, number>({ name: 'log' });
      const state = root.openDB<StateRecord, number>({ name: 'state' });
      const started = performance.now();
      const { memory, replayed, dropped } = await recover(root, { meta, log, state }, memoryOptions);
      const revision = await memory.currentRevision();
      const compactRevision = meta.get(COMPACT_REVISION) ?? 0;
      const objects = (await memory.list('')).items.length;
      const recovery: RecoveryStats = {
        objects,
        revision,
        compactRevision,
        replayedRevisions: replayed,
        droppedRevisions: dropped,
        durationMs: performance.now() - started,
      };
      return new DurableStorage({ root, meta, log, state, memory, retainRevisions, lockPath, recovery });
    } catch (err) {
      await root?.close();
      unlockDataDir(lockPath);
      throw err;
    }
  }

  private constructor(parts: {
    root: RootDatabase;
    meta: Database<number, string>;
    log: Database<LogRecord, number>;
    state: Database<StateRecord, number>;
    memory: MemoryStorage;
    retainRevisions: number;
    lockPath: string;
    recovery: RecoveryStats;
  }) {
    this.#root = parts.root;
    this.#meta = parts.meta;
    this.#log = parts.log;
    this.#state = parts.state;
    this.#memory = parts.memory;
    this.#retainRevisions = parts.retainRevisions;
    this.#lockPath = parts.lockPath;
    this.#recovery = parts.recovery;
    this.#stagedRevision = parts.recovery.revision;
    this.#appliedRevision = parts.recovery.revision;
    this.#compactRevision = parts.recovery.compactRevision;
  }

  /** What recovery found, and the store's revisions and on-disk log now. */
  stats(): DurableStorageStats {
    return {
      recovery: this.#recovery,
      revision: this.#appliedRevision,
      compactRevision: this.#compactRevision,
      logRecords: this.#log.getCount(),
    };
  }

  // ---- reads and watches: served from memory, which holds only durable writes ---------------

  get(key: string, options?: StorageGetOptions): Promise<GetResult> {
    return this.#memory.get(key, options);
  }

  list(prefix: string, options?: StorageListOptions): Promise<StorageListResult> {
    return this.#memory.list(prefix, options);
  }

  currentRevision(): Promise<number> {
    return this.#memory.currentRevision();
  }

  watch(prefix: string, options: StorageWatchOptions): AsyncIterable<WatchBatch> {
    return this.#memory.watch(prefix, options);
  }

  requestProgress(): Promise<void> {
    return this.#memory.requestProgress();
  }

  /**
   * After a reopen, the oldest revision still listable: the compaction point, or the first
   * revision if nothing was compacted. A fresh store has no earlier clients to serve.
   */
  historyStart(): number | undefined {
    if (this.#recovery.revision === 0) return undefined;
    return Math.max(this.#compactRevision, 1);
  }

  progressTrusted(): boolean {
    return true;
  }

  // ---- writes ----------------------------------------------------------------------------------

  async create(key: string, value: Uint8Array): Promise<KeyValue> {
    this.#checkWritable();
    checkKey(key);
    checkValue(value);
    if (this.#current(key) !== null) throw new StorageError(ErrorCodes.ALREADY_EXISTS, `key already exists: ${key}`);
    const revision = this.#stagedRevision + 1;
    const kv: KeyValue = { key, value: Uint8Array.prototype.slice.call(value), createRevision: revision, modRevision: revision, version: 1 };
    return this.#stage(kv.key, kv, [0, key, kv.value, revision, 1], () => this.#memory.create(key, kv.value));
  }

  async update(key: string, value: Uint8Array, options: WriteOptions = {}): Promise<KeyValue> {
    this.#checkWritable();
    checkKey(key);
    checkValue(value);
    const prev = this.#precondition(key, options);
    const revision = this.#stagedRevision + 1;
    const kv: KeyValue = {
      key,
      value: Uint8Array.prototype.slice.call(value),
      createRevision: prev.createRevision,
      modRevision: revision,
      version: prev.version + 1,
    };
    return this.#stage(key, kv, [0, key, kv.value, kv.createRevision, kv.version], () => this.#memory.update(key, kv.value));
  }

  async delete(key: string, options: WriteOptions = {}): Promise<DeleteResult> {
    this.#checkWritable();
    checkKey(key);
    const prev = this.#precondition(key, options);
    return this.#stage(key, null, [1, key, prev.createRevision], () => this.#memory.delete(key));
  }

  async compact(revision: number): Promise<void> {
    this.#checkWritable();
    checkRevision(revision);
    // Checked against what is durable and applied, as MemoryStorage would check it.
    const current = await this.#memory.currentRevision();
    if (revision > current) {
      throw new StorageError(ErrorCodes.FUTURE_REVISION, `required revision ${revision} is a future revision (current ${current})`, {
        currentRevision: current,
      });
    }
    if (revision <= this.#compactRevision) throw new CompactedError(revision, this.#compactRevision);
    this.#compactRevision = revision; // claimed now: compactions queue in increasing order
    await this.#compact(revision);
  }

  async close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#writes.idle();
      await this.#compactions.idle();
      await this.#memory.close();
      await this.#root.close();
      unlockDataDir(this.#lockPath);
    })();
    return this.#closing;
  }

  // ---- internals -------------------------------------------------------------------------------

  #checkWritable(): void {
    if (this.#closing !== undefined) throw new StorageError(ErrorCodes.CLOSED, 'storage is closed');
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** The key as the next write sees it: its newest staged version, else what memory holds. */
  #current(key: string): KeyValue | null {
    const staged = this.#staged.get(key);
    if (staged !== undefined) return staged.kv;
    return this.#memory.peek(key);
  }

  #precondition(key: string, options: WriteOptions): KeyValue {
    return checkPrecondition(key, this.#current(key), options);
  }

  /**
   * Takes the next revision for a write, puts its record in the log (LMDB commits the puts of one
   * event turn together, synced), and once it is durable applies it to memory in revision order.
   */
  #stage<T extends KeyValue | DeleteResult>(key: string, kv: KeyValue | null, record: LogRecord, apply: () => Promise<T>): Promise<T> {
    const revision = ++this.#stagedRevision;
    const staged: Staged = { revision, kv };
    this.#staged.set(key, staged);
    let durable: Promise<unknown>;
    try {
      const committed = appendTo(this.#log, revision, record);
      durable = committed.then(() => committed.flushed);
    } catch (err) {
      throw this.#fail(revision, err);
    }
    return this.#writes.run(async () => {
      try {
        await durable;
      } catch (err) {
        throw this.#fail(revision, err);
      }
      const result = await apply();
      const applied = 'deleted' in result ? result.revision : result.modRevision;
      if (applied !== revision) throw this.#fail(revision, new Error(`memory applied it at revision ${applied}`));
      if (this.#staged.get(key) === staged) this.#staged.delete(key);
      this.#appliedRevision = revision;
      this.#autoCompact(revision);
      return result;
    });
  }

  /**
   * A commit that failed leaves later staged writes resting on it: refuse everything from now on
   * (recovery drops any later record that still reached the disk, since none was acknowledged).
   */
  #fail(revision: number, cause: unknown): StorageError {
    this.#failure ??= new StorageError(
      ErrorCodes.UNAVAILABLE,
      `the durable store failed to commit revision ${revision}: ${cause instanceof Error ? cause.message : String(cause)}; restart to recover`,
      {},
      { cause },
    );
    return this.#failure;
  }

  /** As MemoryStorage: keep `retainRevisions`, compacting in steps of a tenth of it. */
  #autoCompact(revision: number): void {
    const keep = this.#retainRevisions;
    if (Number.isFinite(keep) && revision - Math.max(this.#compactRevision, 1) >= keep + Math.ceil(keep / 10)) {
      const target = revision - keep;
      this.#compactRevision = target; // claimed now so the next write does not ask again
      void this.#compact(target).catch(() => undefined);
    }
  }

  #compact(revision: number): Promise<void> {
    return this.#compactions.run(() => this.#compactTo(revision));
  }

  /** Folds the log below `revision` into `state`, on disk in one transaction, then in memory. */
  async #compactTo(revision: number): Promise<void> {
    try {
      await this.#root.transaction(() => {
        for (const { key: rev, value: record } of [...this.#log.getRange({ end: revision })]) {
          if (record[0] === 1) void this.#state.remove(record[2]);
          else {
            const value: StateRecord = [record[1], record[2], rev, record[4]];
            // A create is the newest key of `state`: appended, its pages fill up instead of splitting in half.
            void (record[4] === 1 ? appendTo(this.#state, record[3], value) : this.#state.put(record[3], value));
          }
          void this.#log.remove(rev);
        }
        void this.#meta.put(COMPACT_REVISION, revision);
      });
    } catch (err) {
      throw this.#fail(revision, err);
    }
    await this.#memory.compact(revision);
  }
}

/** Steps run one after another; once the store has failed, the steps not yet run fail with it. */
class SerialQueue {
  readonly #failure: () => Error | undefined;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(failure: () => Error | undefined) {
    this.#failure = failure;
  }

  run<T>(step: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(() => {
      const failure = this.#failure();
      if (failure !== undefined) throw failure;
      return step();
    });
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /** Settles once every step queued so far has settled. */
  idle(): Promise<unknown> {
    return this.#tail;
  }
}

/**
 * Rebuilds memory from disk: the state before the compact revision, then every log record from
 * there in order. A gap in the log ends the replay: what follows it was never acknowledged.
 */
async function recover(
  root: RootDatabase,
  { meta, log, state }: { meta: Database<number, string>; log: Database<LogRecord, number>; state: Database<StateRecord, number> },
  memoryOptions: { retainRevisions: number; progressNotifyIntervalMs?: number; maxBatchRevisions?: number },
): Promise<{ memory: MemoryStorage; replayed: number; dropped: number }> {
  const compactRevision = meta.get(COMPACT_REVISION) ?? 0;
  let memory: MemoryStorage;
  if (compactRevision < 2) memory = new MemoryStorage(memoryOptions);
  else {
    const items = state.getRange().map(({ key: createRevision, value: [key, value, modRevision, version] }) => ({ key, value, createRevision, modRevision, version }));
    try {
      memory = new MemoryStorage({ ...memoryOptions, initialState: { revision: compactRevision - 1, items } });
    } catch (err) {
      throw corrupt(compactRevision - 1, (err as Error).message);
    }
  }
  let next = (await memory.currentRevision()) + 1;
  let replayed = 0;
  for (const { key: revision, value: record } of log.getRange({ start: next })) {
    if (revision !== next) break;
    await replay(memory, revision, record);
    next++;
    replayed++;
  }
  let dropped = 0;
  const beyond = [...log.getKeys({ start: next })];
  if (beyond.length > 0) {
    await root.transaction(() => {
      for (const revision of beyond) void log.remove(revision);
    });
    dropped = beyond.length;
  }
  if (compactRevision >= 2) {
    if (compactRevision >= next) throw corrupt(compactRevision, 'the log ends before the compact revision');
    await memory.compact(compactRevision);
  }
  return { memory, replayed, dropped };
}

/**
 * Puts a key greater than every key of `db` with LMDB's MDB_APPEND, so sequential keys fill their
 * pages (a plain put splits a full page in half). lmdb's put takes the options its types omit.
 */
function appendTo<V>(db: Database<V, number>, key: number, value: V): Promise<boolean> & { readonly flushed: Promise<unknown> } {
  const put = db.put as unknown as (key: number, value: V, options: { append: boolean }) => Promise<boolean> & { readonly flushed: Promise<unknown> };
  return put.call(db, key, value, { append: true });
}

/** Applies one log record to memory, which must land it at its own revision, as recorded. */
async function replay(memory: MemoryStorage, revision: number, record: LogRecord): Promise<void> {
  let follows: boolean;
  try {
    if (record[0] === 1) {
      const { deleted, revision: at } = await memory.delete(record[1]);
      follows = at === revision && deleted.createRevision === record[2];
    } else {
      const kv = record[4] === 1 ? await memory.create(record[1], record[2]) : await memory.update(record[1], record[2]);
      follows = kv.modRevision === revision && kv.createRevision === record[3] && kv.version === record[4];
    }
  } catch (err) {
    throw corrupt(revision, (err as Error).message);
  }
  if (!follows) throw corrupt(revision, 'it does not follow from the revisions before it');
}

function corrupt(revision: number, why: string): StorageError {
  return new StorageError(ErrorCodes.UNAVAILABLE, `the durable store is inconsistent at revision ${revision}: ${why}`);
}

/** Lock files held by stores open in this process (a restarted container may reuse our pid). */
const heldLocks = new Set<string>();

/**
 * Two stores writing one directory would each believe they own its revisions: the data directory
 * holds the pid of its owner, and a live owner keeps others out. A pid file left by a killed
 * process is taken over.
 */
function lockDataDir(path: string): void {
  if (heldLocks.has(path)) throw new StorageError(ErrorCodes.UNAVAILABLE, `${path}: the data directory is in use by this process`);
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (owner !== process.pid && isAlive(owner)) {
        throw new StorageError(ErrorCodes.UNAVAILABLE, `${path}: the data directory is in use by process ${owner}`);
      }
      rmSync(path, { force: true });
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    heldLocks.add(path);
    return;
  }
  throw new StorageError(ErrorCodes.UNAVAILABLE, `${path}: cannot take the data directory's lock`);
}

function unlockDataDir(path: string): void {
  rmSync(path, { force: true });
  heldLocks.delete(path);
}

function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process not yet reaped by its parent still answers signal 0: a zombie holds nothing.
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}
