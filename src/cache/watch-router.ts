/**
 * The cacher's side of the dispatchers: where each watcher's frames go. It owns the placement
 * (the dispatchers, inline or on threads), the map from watcher id to its subscriber, the mirror
 * of which logical partition each watcher is in, the consumers' acks and blocks (batched once per
 * turn per dispatcher), and the fan-out when a dispatcher dies or closes a watcher.
 */
import { fromWire, type WireError } from '../errors.js';
import { statusFromError } from '../status.js';
import { PARTITIONS, partitionOf } from '../dispatch/partitions.js';
import type { OutputHandler, Placement } from '../dispatch/placement.js';
import type { DispatcherInput, DispatcherOutput, DispatcherStatus, WatcherSpec } from '../dispatch/protocol.js';
import type { ShardSelector } from '../select/shard-selector.js';
import type { Subscriber, SubscriberHooks } from '../delivery/subscriber.js';
import type { Clock } from '../clock.js';

export interface WatchRouterOptions {
  /** Starts the dispatchers, wired to this router's output and crash handlers. */
  placement: (onOutput: OutputHandler, onCrash: (index: number, error: WireError) => void) => Placement;
  clock: Clock;
  /** When the record of a revision was appended (ms on the clock), while it is in the window. */
  appendedAt: (revision: number) => number | undefined;
  /** Told, once per delivery batch, the seconds from the newest event's append to its delivery. */
  onDeliveryLatency?: ((seconds: number) => void) | undefined;
}

/** A watcher opened on the router: its subscriber and where it is dispatched. */
export interface Route<S extends Subscriber> {
  readonly id: number;
  readonly stream: S;
  readonly partition: number;
  readonly dispatcher: number;
}

export class WatchRouter {
  readonly #placement: Placement;
  readonly #clock: Clock;
  readonly #appendedAt: (revision: number) => number | undefined;
  readonly #onDeliveryLatency: ((seconds: number) => void) | undefined;
  readonly #streams = new Map<number, Subscriber>();
  /** The logical partition of each registered watcher (its dispatcher is partition % size). */
  readonly #partitionOf = new Map<number, number>();
  /**
   * Acks and blocks gathered this turn, per dispatcher: id → [events, bytes, blocked] (the latest
   * report wins: a socket that blocked and drained in one turn is simply acked).
   */
  #acks = new Map<number, Map<number, [number, number, boolean]>>();
  #acksScheduled = false;
  #nextId = 0;
  /** Watchers closed with an error, by reason ('lapped', 'stalled', 'dispatcherCrash'). */
  readonly terminated: Record<string, number> = {};
  framesDelivered = 0;
  deliveryBatches = 0;
  /** Per dispatcher, its state as of its last tick. */
  status: DispatcherStatus[] = [];

  constructor(options: WatchRouterOptions) {
    this.#clock = options.clock;
    this.#appendedAt = options.appendedAt;
    this.#onDeliveryLatency = options.onDeliveryLatency;
    this.#placement = options.placement(
      (message, index) => this.#onOutput(message, index),
      (index, error) => this.#onCrash(index, error),
    );
  }

  get watchers(): number {
    return this.#streams.size;
  }

  ready(): Promise<void> {
    return this.#placement.ready();
  }

  broadcast(message: DispatcherInput): void {
    this.#placement.broadcast(message);
  }

  /** A new watcher's subscriber, wired to its dispatcher; it receives nothing until register(). */
  open<S extends Subscriber>(
    triggerValue: string | undefined,
    shard: ShardSelector | undefined,
    subscribe: (id: number, hooks: SubscriberHooks) => S,
  ): Route<S> {
    const id = ++this.#nextId;
    const partition = partitionOf(triggerValue, id, shard);
    const dispatcher = partition % this.#placement.size;
    const stream = subscribe(id, {
      ack: (events, bytes) => this.#report(dispatcher, id, events, bytes, false),
      blocked: (events, bytes) => this.#report(dispatcher, id, events, bytes, true),
      cancel: () => {
        this.#partitionOf.delete(id);
        if (this.#streams.delete(id)) this.#placement.post(dispatcher, { type: 'cancel', id });
      },
    });
    return { id, stream, partition, dispatcher };
  }

  /** Hand the watcher to its dispatcher. */
  register(route: Route<Subscriber>, watcher: Omit<WatcherSpec, 'id'>): void {
    this.#streams.set(route.id, route.stream);
    this.#partitionOf.set(route.id, route.partition);
    this.#placement.post(route.dispatcher, { type: 'register', watcher: { id: route.id, ...watcher } });
  }

  /** A watch reached its deadline: it ends after its queued events, like a server-side timeout. */
  end(id: number): void {
    this.#streams.get(id)?.done();
  }

  /** Stop every dispatcher; resolves once they have closed their watchers. */
  stopDispatchers(): Promise<void> {
    return this.#placement.stop();
  }

  /** End every subscriber still open, cleanly. */
  endAll(): void {
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    this.#partitionOf.clear();
    for (const stream of streams) stream.done();
  }

  /** Watchers per logical partition. */
  partitionCounts(): number[] {
    const counts = new Array<number>(PARTITIONS).fill(0);
    for (const partition of this.#partitionOf.values()) counts[partition]!++;
    return counts;
  }

  #onOutput(message: DispatcherOutput, dispatcher: number): void {
    switch (message.type) {
      case 'deliver': {
        const { ids, refs, buffers, chunkStart, chunkCounts } = message.batch;
        this.framesDelivered += message.batch.frames;
        this.deliveryBatches++;
        if (this.#onDeliveryLatency !== undefined && message.batch.rv !== undefined && message.batch.rv > 0) {
          const appended = this.#appendedAt(message.batch.rv);
          if (appended !== undefined) this.#onDeliveryLatency(Math.max(0, this.#clock.now() - appended) / 1000);
        }
        // Per delivery a lookup and a push of a buffer built by the dispatcher: nothing per frame.
        const streams = this.#streams;
        for (let i = 0; i < ids.length; i++) {
          const k = refs[i]!;
          const buffer = buffers[k]!;
          if (k < chunkStart) streams.get(ids[i]!)?.push(buffer, 1, buffer.byteLength);
          else streams.get(ids[i]!)?.push(buffer, chunkCounts[2 * (k - chunkStart)]!, chunkCounts[2 * (k - chunkStart) + 1]!);
        }
        return;
      }
      case 'closed': {
        const stream = this.#streams.get(message.id);
        this.#streams.delete(message.id);
        this.#partitionOf.delete(message.id);
        const reason = message.error?.reason;
        if (reason !== undefined) this.terminated[reason] = (this.terminated[reason] ?? 0) + 1;
        if (message.error === undefined) stream?.done();
        else stream?.failed(statusFromError(fromWire(message.error)));
        return;
      }
      case 'status':
        this.status[dispatcher] = message.status;
        return;
      case 'online':
      case 'stopped':
        return;
    }
  }

  /**
   * Consumers' acks go out once per turn, one message per dispatcher: with thousands of watchers
   * on worker threads, one message per watcher per turn would cost more than the frames.
   */
  #report(dispatcher: number, id: number, events: number, bytes: number, blocked: boolean): void {
    let acks = this.#acks.get(dispatcher);
    if (acks === undefined) this.#acks.set(dispatcher, (acks = new Map()));
    acks.set(id, [events, bytes, blocked]);
    if (this.#acksScheduled) return;
    this.#acksScheduled = true;
    setImmediate(() => {
      this.#acksScheduled = false;
      const all = this.#acks;
      this.#acks = new Map();
      for (const [index, acks] of all) {
        const acked = { type: 'acks' as const, ids: [] as number[], events: [] as number[], bytes: [] as number[] };
        const blocked = { type: 'blocked' as const, ids: [] as number[], events: [] as number[], bytes: [] as number[] };
        for (const [id, [e, b, isBlocked]] of acks) {
          const to = isBlocked ? blocked : acked;
          to.ids.push(id);
          to.events.push(e);
          to.bytes.push(b);
        }
        if (blocked.ids.length > 0) this.#placement.post(index, blocked);
        if (acked.ids.length > 0) this.#placement.post(index, acked);
      }
    });
  }

  /** A dispatcher died: its watchers end with an ERROR (500) so their clients watch again. */
  #onCrash(index: number, error: WireError): void {
    for (const [id, partition] of this.#partitionOf) {
      if (partition % this.#placement.size !== index) continue;
      this.terminated['dispatcherCrash'] = (this.terminated['dispatcherCrash'] ?? 0) + 1;
      this.#partitionOf.delete(id);
      const stream = this.#streams.get(id);
      this.#streams.delete(id);
      stream?.failed(statusFromError(fromWire(error)));
    }
  }
}
