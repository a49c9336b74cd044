/**
 * A dispatcher owns a set of watchers (the logical partitions mapped onto one thread, or all of
 * them inline) and turns ring records into frames for them. It is the partition code of the
 * design: thread-agnostic, it reads the ring and talks to the cacher only through messages
 * (protocol.ts), so the very same class runs inline (`workers: 0`) and in a worker thread.
 *
 * Per record it compares trigger hashes first and decodes nothing unless some watcher may want
 * the record; then it evaluates each candidate's predicate and rewrites the event type, while
 * current-record.ts decodes the object (and previous object) once and encodes at most one frame
 * per event type and encoding, shared by every receiving watcher. watcher.ts holds a watcher's
 * state and counters.
 *
 * Watchers read together on the live cursor. A watcher whose consumer has not taken its frames
 * (buffer full, in count or bytes) stalls on its own cursor and leaves the live group; when its
 * consumer drains, it catches up from the ring alone and rejoins. It never slows the others. It
 * is closed with 410 when its cursor falls out of the window, or when it stays stalled past the
 * stall budget. A watcher registered from an older RV starts the same way, behind.
 *
 * Why one file of ~510 lines: the live cursor, catch-up and the slice staging are one hot loop
 * over shared cursors and buffers; the watcher's state (watcher.ts), the record's decoding
 * (current-record.ts) and the chunk framing (encode/http-chunks.ts) are apart.
 */
import type { WireError } from '../errors.js';
import { distance, RecordKind } from '../ring/layout.js';
import { RingReader, SCAN_LAPPED, type RingRecord } from '../ring/reader.js';
import type { BookmarkShape, WatchEventType } from '../encode/codec.js';
import { addChunks } from '../encode/http-chunks.js';
import type { PrinterSpec } from '../encode/table/views.js';
import { BookmarkBuckets, nextBookmarkTime } from './bookmarks.js';
import { AttributeReader, matches, rewrite } from '../select/predicate.js';
import { CurrentRecord } from './current-record.js';
import type { DeliveryBatch, DispatcherConfig, DispatcherInput, DispatcherOutput, DispatchLimits, WatcherSpec } from './protocol.js';
import { Watcher, type CloseReason } from './watcher.js';

/**
 * Records read per event-loop turn (one slice) before yielding, so one busy resource cannot
 * starve the loop. A slice stays under the default watcher buffer (1,000 frames): a watcher whose
 * consumer keeps up between turns never stalls just because a turn read a long backlog.
 */
const DEFAULT_SLICE_RECORDS = 512;

export type Post = (message: DispatcherOutput) => void;
export type Schedule = (fn: () => void) => void;

export class Dispatcher {
  readonly #reader: RingReader;
  readonly #limits: DispatchLimits;
  readonly #printer: PrinterSpec | undefined;
  readonly #slice: number;
  readonly #bookmarkShape: BookmarkShape;
  readonly #post: Post;
  readonly #schedule: Schedule;

  readonly #watchers = new Map<number, Watcher>();
  /** Live watchers by trigger hash; those with no trigger are in #untriggered. */
  readonly #byTrigger = new Map<number, Set<Watcher>>();
  readonly #untriggered = new Set<Watcher>();
  readonly #behind = new Set<Watcher>();
  readonly #bookmarks = new BookmarkBuckets<Watcher>();

  #epoch: number;
  #livePos: number;
  /** RV of the last record the live cursor passed (events and progress alike). */
  #liveRV = 0;
  #now = 0;
  #scheduled = false;
  #stopped = false;

  // Staging for one slice: committed only once the slice is validated.
  #stagedFrames: Uint8Array[] = [];
  #stagedWatchers: Watcher[] = [];
  #stagedRVs: number[] = [];
  #touched: Watcher[] = [];
  #sliceRV = 0;
  #view: RingRecord;
  readonly #current: CurrentRecord;

  // The outbox: flushed once per turn. Frames for `frames` watchers go in as they come; a
  // `chunked` watcher holds its frames of the turn (Watcher.out) until the flush chunks them.
  #outIds: number[] = [];
  #outRefs: number[] = [];
  #outBuffers: Uint8Array[] = [];
  #outFrames = 0;
  #outChunked: Watcher[] = [];
  #outClosed: Array<{ id: number; error?: WireError }> = [];
  #outRV = 0;

  constructor(config: DispatcherConfig, post: Post, schedule: Schedule = setImmediate) {
    this.#reader = new RingReader(config.ring);
    this.#current = new CurrentRecord(new AttributeReader(config.selectableFields));
    this.#limits = config.limits;
    this.#printer = config.printer;
    this.#slice = config.sliceRecords ?? DEFAULT_SLICE_RECORDS;
    this.#bookmarkShape = {
      ...(config.kind === undefined ? {} : { kind: config.kind }),
      ...(config.apiVersion === undefined ? {} : { apiVersion: config.apiVersion }),
    };
    this.#post = post;
    this.#schedule = schedule;
    this.#epoch = this.#reader.epoch();
    this.#livePos = this.#reader.writePosition();
    this.#view = this.#reader.createView();
  }

  /** Watchers currently registered (live or behind). */
  get watcherCount(): number {
    return this.#watchers.size;
  }

  handle(message: DispatcherInput): void {
    if (this.#stopped) return;
    switch (message.type) {
      case 'register':
        this.#register(message.watcher);
        break;
      case 'cancel':
        this.#remove(message.id);
        break;
      case 'acks':
        for (let i = 0; i < message.ids.length; i++) this.#ack(message.ids[i]!, message.events[i]!, message.bytes[i]!);
        return;
      case 'blocked':
        for (let i = 0; i < message.ids.length; i++) this.#block(message.ids[i]!, message.events[i]!, message.bytes[i]!);
        return;
      case 'tick':
        this.#tick(message.now);
        break;
      case 'publish':
        this.#requestPump();
        return;
      case 'segments':
        // The live cursor may be waiting at the start of a segment it did not have.
        this.#reader.attach(message.segments);
        this.#requestPump();
        return;
      case 'stop':
        this.#stop();
        return;
    }
  }

  /** Read what is published and deliver it. Workers call this when the ring says so. */
  pump(): void {
    this.#scheduled = false;
    if (this.#stopped) return;
    this.#syncEpoch();
    // One slice per turn; what is left is read in the next one.
    let caughtUp = false;
    const next = this.#reader.scan(this.#livePos, this.#slice, this.#visitLive);
    if (next === SCAN_LAPPED) {
      this.#discard();
      this.#liveLapped();
      caughtUp = true;
    } else {
      this.#commit();
      if (next === this.#livePos) caughtUp = true;
      else {
        this.#livePos = next;
        // The producer publishes whole revisions, so a slice that reached the write position ends
        // on one; a slice cut by its record count may end inside a revision, and a bookmark must
        // not claim that revision before all of its records are out.
        this.#liveRV = next === this.#reader.writePosition() ? this.#sliceRV : Math.max(this.#liveRV, this.#sliceRV - 1);
      }
    }
    const behindLeft = this.#catchUpBehind();
    this.#flush();
    if (!caughtUp || behindLeft) this.#requestPump();
  }

  // ---- messages ------------------------------------------------------------------------------

  #register(spec: WatcherSpec): void {
    this.#now = Math.max(this.#now, spec.now);
    this.#syncEpoch();
    if (spec.epoch !== this.#epoch || this.#watchers.has(spec.id)) {
      // Registered against a window that has since been reset: it ends at once, like every
      // watcher the relist terminated, and the client re-watches.
      this.#outClosed.push({ id: spec.id });
      this.#flush();
      return;
    }
    const w = new Watcher(spec, this.#printer);
    this.#watchers.set(w.id, w);
    // A start at or past the live cursor joins the live group; the floor drops the records in
    // between, which are all at or below it. An older start catches up on its own first.
    if (distance(this.#livePos, spec.start) >= 0) this.#joinLive(w);
    else {
      w.cursor = spec.start;
      this.#behind.add(w);
    }
    if (w.bookmarks) this.#scheduleBookmark(w);
    this.#requestPump();
  }

  #ack(id: number, events: number, bytes: number): void {
    const w = this.#watchers.get(id);
    if (w === undefined) return;
    w.ack(events, bytes, this.#now);
    if (!w.live) this.#requestPump();
  }

  #block(id: number, events: number, bytes: number): void {
    const w = this.#watchers.get(id);
    if (w === undefined) return;
    w.block(events, bytes, this.#now);
    // It may have taken more than when it last blocked: a stalled one may have room again.
    if (!w.live) this.#requestPump();
  }

  #tick(now: number): void {
    this.#now = Math.max(this.#now, now);
    // A reset makes every old position read as lapped: notice it first, so that watchers behind
    // are closed cleanly like all the others, not with 410 "lapped".
    this.#syncEpoch();
    const budget = this.#limits.stallBudgetMs;
    for (const w of this.#behind) {
      if (this.#reader.isLapped(w.cursor)) this.#close(w, 'lapped');
      else if (w.stalledPast(this.#now, budget)) this.#close(w, 'stalled');
    }
    // One bookmark frame per RV and encoding, shared by the watchers due at this tick.
    const frames = new Map<string, Uint8Array>();
    for (const w of this.#bookmarks.popExpired(this.#now)) {
      if (w.closed) continue;
      if (w.live) {
        const rv = Math.max(this.#liveRV, w.lastRV);
        const codec = w.nextCodec();
        const key = `${rv}:${codec.encoding}`;
        let frame = frames.get(key);
        if (frame === undefined) frames.set(key, (frame = codec.bookmark(this.#bookmarkShape, rv)));
        // Bookmarks never block: one that does not fit is skipped; the next one is scheduled.
        if (w.hasRoom(this.#limits, frame.byteLength)) this.#send(w, frame);
      }
      this.#scheduleBookmark(w);
    }
    this.#flush();
    let stalled = 0;
    for (const w of this.#behind) if (w.stalledSince !== undefined) stalled++;
    this.#post({ type: 'status', status: { watchers: this.#watchers.size, behind: this.#behind.size, stalled, liveRV: this.#liveRV } });
  }

  #stop(): void {
    for (const w of this.#watchers.values()) this.#close(w);
    this.#flush();
    this.#stopped = true;
    this.#post({ type: 'stopped' });
  }

  // ---- the live cursor -----------------------------------------------------------------------

  readonly #visitLive = (record: RingRecord): void => {
    this.#sliceRV = record.rv;
    if (record.kind === RecordKind.PROGRESS) return;
    const byNew = record.triggerHash === 0 ? undefined : this.#byTrigger.get(record.triggerHash);
    const byPrev =
      record.prevTriggerHash === 0 || record.prevTriggerHash === record.triggerHash
        ? undefined
        : this.#byTrigger.get(record.prevTriggerHash);
    if (this.#untriggered.size === 0 && byNew === undefined && byPrev === undefined) return;
    this.#current.reset(record);
    for (const w of this.#untriggered) this.#offer(w, record);
    if (byNew !== undefined) for (const w of byNew) this.#offer(w, record);
    if (byPrev !== undefined) for (const w of byPrev) this.#offer(w, record);
  };

  /** The live cursor was overwritten before it could read: every live watcher fell out of the window. */
  #liveLapped(): void {
    for (const w of [...this.#untriggered, ...[...this.#byTrigger.values()].flatMap((s) => [...s])]) this.#close(w, 'lapped');
    // Resync to the write position, not to the window start: the live group is now empty, so there
    // is nothing to replay for it (a watcher registered from an older start catches up on its
    // own), and in a full ring the window start is the next thing the producer overwrites.
    this.#livePos = this.#reader.writePosition();
  }

  // ---- watchers behind the live cursor -------------------------------------------------------

  /** Advance every behind watcher that has buffer room; true when some still have work left. */
  #catchUpBehind(): boolean {
    let left = false;
    for (const w of this.#behind) {
      if (w.closed || !w.hasRoom(this.#limits, 0)) continue;
      if (!this.#catchUp(w)) left = true;
    }
    return left;
  }

  /** One slice of catch-up for `w` alone; true when it rejoined the live group (or closed). */
  #catchUp(w: Watcher): boolean {
    const reader = this.#reader;
    const start = w.cursor;
    let pos = start;
    let lapped = false;
    try {
      for (let n = 0; n < this.#slice && distance(pos, this.#livePos) > 0 && w.stallAt === undefined; n++) {
        const record = reader.read(pos, this.#view);
        if (record === null) break;
        if (record.kind !== RecordKind.PROGRESS) {
          this.#current.reset(record);
          this.#offer(w, record);
        }
        if (w.stallAt === undefined) pos = record.next;
      }
    } catch (err) {
      if (!reader.isLapped(start)) throw err;
      lapped = true;
    }
    if (lapped || reader.isLapped(start)) {
      this.#discard();
      this.#close(w, 'lapped');
      return true;
    }
    const stalled = w.stallAt !== undefined;
    this.#commit();
    if (stalled) return !w.takesAll; // waits for its consumer (an ack brings it back here), unless it takes everything
    w.cursor = pos;
    if (distance(pos, this.#livePos) <= 0) {
      this.#behind.delete(w);
      w.stalledSince = undefined;
      this.#joinLive(w);
      return true;
    }
    return false;
  }

  // ---- per record, per watcher ---------------------------------------------------------------

  #offer(w: Watcher, record: RingRecord): void {
    if (w.closed || w.stallAt !== undefined || record.rv <= w.floor) return;
    const type = this.#eventType(w, record);
    if (type === null) return;
    const frame = this.#current.frame(type, w.nextCodec());
    if (!w.hasRoom(this.#limits, frame.byteLength)) {
      w.stallAt = record.position;
      this.#touched.push(w);
      return;
    }
    if (w.stagedEvents === 0) this.#touched.push(w);
    w.stagedEvents++;
    w.stagedBytes += frame.byteLength;
    this.#stagedFrames.push(frame);
    this.#stagedWatchers.push(w);
    this.#stagedRVs.push(record.rv);
  }

  #eventType(w: Watcher, record: RingRecord): WatchEventType | null {
    if (w.everything) return record.kind === RecordKind.ADDED ? 'ADDED' : record.kind === RecordKind.MODIFIED ? 'MODIFIED' : 'DELETED';
    switch (record.kind) {
      case RecordKind.ADDED:
        return matches(w.predicate, this.#current.attrs()) ? 'ADDED' : null;
      case RecordKind.DELETED:
        return matches(w.predicate, this.#current.attrs()) ? 'DELETED' : null;
      case RecordKind.MODIFIED: {
        const current = matches(w.predicate, this.#current.attrs());
        // An update too large to carry its previous object is judged by the new object alone.
        const previous = record.prevObjectLength > 0 && matches(w.predicate, this.#current.prevAttrs());
        return rewrite('MODIFIED', current, previous);
      }
      default:
        return null;
    }
  }

  // ---- staging -------------------------------------------------------------------------------

  #commit(): void {
    const frames = this.#stagedFrames;
    const watchers = this.#stagedWatchers;
    const rvs = this.#stagedRVs;
    for (let i = 0; i < watchers.length; i++) {
      const w = watchers[i]!;
      this.#send(w, frames[i]!);
      w.lastRV = rvs[i]!;
      if (rvs[i]! > this.#outRV) this.#outRV = rvs[i]!;
    }
    for (const w of this.#touched) {
      w.stagedEvents = 0;
      w.stagedBytes = 0;
      if (w.stallAt !== undefined) {
        const at = w.stallAt;
        w.stallAt = undefined;
        if (w.live) this.#leaveLive(w);
        w.cursor = at;
        // One that takes everything filled its buffer within the slice only: it reads on next turn.
        if (!w.takesAll) w.stalledSince ??= this.#now;
      }
    }
    this.#clearStage();
  }

  #discard(): void {
    for (const w of this.#touched) {
      w.stagedEvents = 0;
      w.stagedBytes = 0;
      w.stallAt = undefined;
    }
    this.#clearStage();
  }

  #clearStage(): void {
    this.#stagedFrames.length = 0;
    this.#stagedWatchers.length = 0;
    this.#stagedRVs.length = 0;
    this.#touched.length = 0;
  }

  // ---- membership ----------------------------------------------------------------------------

  #joinLive(w: Watcher): void {
    w.live = true;
    if (w.triggerHash === 0) {
      this.#untriggered.add(w);
      return;
    }
    let set = this.#byTrigger.get(w.triggerHash);
    if (set === undefined) this.#byTrigger.set(w.triggerHash, (set = new Set()));
    set.add(w);
  }

  #leaveLive(w: Watcher): void {
    w.live = false;
    this.#behind.add(w);
    if (w.triggerHash === 0) {
      this.#untriggered.delete(w);
      return;
    }
    const set = this.#byTrigger.get(w.triggerHash);
    set?.delete(w);
    if (set?.size === 0) this.#byTrigger.delete(w.triggerHash);
  }

  #remove(id: number): Watcher | undefined {
    const w = this.#watchers.get(id);
    if (w === undefined) return undefined;
    this.#watchers.delete(id);
    w.closed = true;
    if (w.live) this.#leaveLive(w);
    this.#behind.delete(w);
    return w;
  }

  /** End a watcher: cleanly, or with 410 Expired for `reason`. */
  #close(w: Watcher, reason?: CloseReason): void {
    if (this.#remove(w.id) === undefined) return;
    if (reason === undefined) this.#outClosed.push({ id: w.id });
    else this.#outClosed.push({ id: w.id, error: w.expiredError(reason, this.#limits.stallBudgetMs) });
  }

  #syncEpoch(): void {
    const epoch = this.#reader.epoch();
    if (epoch === this.#epoch) return;
    // The cache relisted: as kube-apiserver's terminateAllWatchers, every watcher ends and its
    // client re-watches from its last RV (or relists, if that is now too old).
    for (const w of [...this.#watchers.values()]) this.#close(w);
    this.#epoch = epoch;
    this.#livePos = this.#reader.oldestPosition();
    this.#liveRV = 0;
  }

  #scheduleBookmark(w: Watcher): void {
    const at = nextBookmarkTime(this.#now, w.deadline);
    if (at !== undefined) this.#bookmarks.add(w, at);
  }

  #requestPump(): void {
    if (this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    this.#schedule(() => this.pump());
  }

  #send(w: Watcher, frame: Uint8Array): void {
    w.sent(frame);
    this.#outFrames++;
    if (w.framing === 'frames') {
      this.#outIds.push(w.id);
      this.#outRefs.push(this.#outBuffers.length);
      this.#outBuffers.push(frame);
      return;
    }
    if (w.out.length === 0) this.#outChunked.push(w);
    w.out.push(frame);
  }

  #flush(): void {
    if (this.#outFrames > 0) {
      const batch: DeliveryBatch = {
        ids: this.#outIds,
        refs: this.#outRefs,
        buffers: this.#outBuffers,
        chunkStart: this.#outBuffers.length,
        chunkCounts: this.#outChunked.length > 0 ? addChunks(this.#outIds, this.#outRefs, this.#outBuffers, this.#outChunked) : [],
        frames: this.#outFrames,
        rv: this.#outRV,
      };
      this.#outIds = [];
      this.#outRefs = [];
      this.#outBuffers = [];
      this.#outFrames = 0;
      this.#outChunked = [];
      this.#outRV = 0;
      this.#post({ type: 'deliver', batch });
    }
    if (this.#outClosed.length > 0) {
      const closed = this.#outClosed;
      this.#outClosed = [];
      for (const c of closed) this.#post(c.error === undefined ? { type: 'closed', id: c.id } : { type: 'closed', id: c.id, error: c.error });
    }
  }
}
