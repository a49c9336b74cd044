/**
 * Where dispatchers run. `workers: 0` places one dispatcher inline on the main thread; the code
 * is the same Dispatcher a worker runs, and it is spoken to the same way: through messages,
 * delivered asynchronously, so that nothing depends on running in the caller's stack.
 */
import type { WireError } from '../errors.js';
import { Dispatcher } from './dispatcher.js';
import type { DispatcherConfig, DispatcherInput, DispatcherOutput } from './protocol.js';

export interface Placement {
  /** How many dispatchers there are; watchers are spread over them by partition. */
  readonly size: number;
  /** Send a message to dispatcher `index`. */
  post(index: number, message: DispatcherInput): void;
  /** Send a message to every dispatcher. */
  broadcast(message: DispatcherInput): void;
  /** Resolves once every dispatcher is up (threads started, modules loaded). */
  ready(): Promise<void>;
  /** Stop every dispatcher; resolves once they have closed their watchers. */
  stop(): Promise<void>;
}

export type OutputHandler = (message: DispatcherOutput, dispatcher: number) => void;

/** Builds a placement for a cacher: where its dispatchers run. */
export type PlacementFactory = (
  config: DispatcherConfig,
  onOutput: OutputHandler,
  onCrash: (index: number, error: WireError) => void,
) => Placement;

export function inlinePlacement(config: DispatcherConfig, onOutput: OutputHandler): Placement {
  let stopped: (() => void) | undefined;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const dispatcher = new Dispatcher(config, (message) => {
    if (message.type === 'stopped') stopped?.();
    onOutput(message, 0);
  });
  const post = (message: DispatcherInput): void => queueMicrotask(() => dispatcher.handle(message));
  return {
    size: 1,
    post: (_index, message) => post(message),
    broadcast: post,
    ready: () => Promise.resolve(),
    stop() {
      post({ type: 'stop' });
      return done;
    },
  };
}
