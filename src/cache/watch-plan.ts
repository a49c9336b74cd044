/**
 * How a WATCH starts: the table of kube-apiserver's Cacher.Watch
 * (k8s.io/apiserver/pkg/storage/cacher/cacher.go: Cacher.Watch, getWatchCacheResourceVersion,
 * waitUntilWatchCacheFreshAndForceAllEvents), as a pure function of the request and of what the
 * cache and the store know, tested as a table.
 */
import type { ParsedRV } from './request.js';

export interface WatchRequest {
  rv: ParsedRV;
  sendInitialEvents: boolean | undefined;
  /** allowWatchBookmarks. */
  bookmarks: boolean;
}

export interface WatchState {
  cacheRevision: number;
  /** The store's current revision; needed only when needsStoreRevision() says so. */
  storeRevision: number | undefined;
  /** Whether the store's progress notifications prove freshness in time (asked only when it matters). */
  progressTrusted: () => boolean;
}

export type WatchPlan =
  /**
   * A watch list the cache cannot prove fresh in time (the store's progress is not trusted):
   * kube-apiserver refuses it at once, in band, and client-go falls back to LIST.
   */
  | { kind: 'refuse'; message: string }
  /**
   * Initial events: the cache's state (once it has reached `waitFor`, if set), then the events
   * after it. `endBookmark`: they end with a BOOKMARK annotated k8s.io/initial-events-end.
   */
  | { kind: 'snapshot'; waitFor: number | undefined; endBookmark: boolean }
  /**
   * Events after `floor`. `future`: a revision the store itself has not reached (an embedded store
   * restarted and counting from 1): served only if the store reaches it within the freshness
   * timeout, else the watch ends with "Too large resource version", so the client relists
   * instead of missing events in silence.
   */
  | { kind: 'stream'; floor: number; future: boolean };

/** kube-apiserver's refusal of a watch list when the store lacks RequestWatchProgress (Cacher.Watch). */
export const WATCH_LIST_UNSUPPORTED =
  'a watch stream was requested by the client but the required storage feature RequestWatchProgress is disabled';

/** Whether watchPlan() needs the store's current revision for this request. */
export function needsStoreRevision(request: WatchRequest, cacheRevision: number): boolean {
  const { rv, sendInitialEvents } = request;
  if (rv === undefined) return sendInitialEvents !== undefined;
  return rv !== 0 && sendInitialEvents !== true && rv > cacheRevision;
}

export function watchPlan(request: WatchRequest, state: WatchState): WatchPlan {
  const { rv, sendInitialEvents, bookmarks } = request;
  const snapshot = (waitFor: number | undefined): WatchPlan => {
    const refuse =
      sendInitialEvents === true && (bookmarks || (waitFor ?? 0) > state.cacheRevision) && !state.progressTrusted();
    if (refuse) return { kind: 'refuse', message: WATCH_LIST_UNSUPPORTED };
    return { kind: 'snapshot', waitFor, endBookmark: bookmarks && sendInitialEvents === true };
  };
  const stream = (floor: number): WatchPlan => ({
    kind: 'stream',
    floor,
    future: floor > state.cacheRevision && state.storeRevision !== undefined && floor > state.storeRevision,
  });
  if (rv === undefined) {
    if (sendInitialEvents === undefined) return snapshot(undefined);
    // "Most recent": as fresh as the store is now.
    const required = state.storeRevision;
    if (required === undefined) throw new Error('watchPlan: the store revision is needed (see needsStoreRevision)');
    return sendInitialEvents ? snapshot(required) : stream(required);
  }
  if (rv === 0) return sendInitialEvents !== false ? snapshot(undefined) : stream(state.cacheRevision);
  return sendInitialEvents === true ? snapshot(rv) : stream(rv);
}
