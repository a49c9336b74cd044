import { WatchCacheError } from '../../src/errors.js';

/**
 * The stable code (`WC_ERR_…`) of the error `fn` throws; undefined if it throws nothing. Anything
 * thrown that is not a WatchCacheError is named as such, so the comparison fails visibly.
 */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof WatchCacheError ? err.code : `not a WatchCacheError: ${String(err)}`;
  }
  return undefined;
}
