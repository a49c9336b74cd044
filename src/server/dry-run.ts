/**
 * `dryRun=All`: a write runs every check it would run (decoding, validation, preconditions,
 * existence) and answers what it would have stored, but stores nothing. The write path is the
 * same; only its store is swapped for one that checks like the real one and writes nowhere, as
 * kube-apiserver's DryRunnableStorage does.
 *
 * What a dry run answers, as kube-apiserver: a create returns 201 with the object as it would be
 * stored (uid and creationTimestamp filled in) and no resourceVersion; an update or patch returns
 * the new object at the current resourceVersion; a delete returns the object as it is.
 */
import { ErrorCodes, StorageError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { invalidObject } from './api-error.js';

/** What the write path needs of a store. */
export type WriteStore = Pick<Storage, 'get' | 'create' | 'update' | 'delete'>;

/** The revision a dry-run create answers with: none (kube leaves resourceVersion empty). */
export const NO_REVISION = 0;

/** The options kind each verb's dryRun belongs to, for the error message. */
export type OptionsKind = 'CreateOptions' | 'UpdateOptions' | 'PatchOptions' | 'DeleteOptions';

/**
 * Whether the request is a dry run: every `dryRun` value must be `All` (kube-apiserver's
 * ValidateDryRun; anything else, the empty string included, is 422 on the options).
 */
export function isDryRun(values: readonly string[], kind: OptionsKind): boolean {
  if (values.length === 0) return false;
  if (values.every((v) => v === 'All')) return true;
  const shown = `[]string{${values.map((v) => JSON.stringify(v)).join(', ')}}`;
  throw invalidObject(kind, { resource: kind.toLowerCase(), group: 'meta.k8s.io', name: '' }, [
    { reason: 'FieldValueNotSupported', message: `Unsupported value: ${shown}: supported values: "All"`, field: 'dryRun' },
  ]);
}

/** A store that answers writes as `store` would, from its current state, and changes nothing. */
/** The views dryRunStore made: a view of a view would read every key twice and change nothing. */
const dryRunViews = new WeakSet<WriteStore>();

export function dryRunStore(store: WriteStore): WriteStore {
  if (dryRunViews.has(store)) return store;
  const current = async (key: string, expectedModRevision: number | undefined) => {
    const { item } = await store.get(key);
    if (item === null) throw new StorageError(ErrorCodes.NOT_FOUND, `key not found: ${key}`);
    if (expectedModRevision !== undefined && item.modRevision !== expectedModRevision) {
      throw new StorageError(ErrorCodes.CONFLICT, `key ${key} is at revision ${item.modRevision}, not ${expectedModRevision}`);
    }
    return item;
  };
  const view: WriteStore = {
    get: (key, options) => store.get(key, options),
    async create(key, value) {
      const { item } = await store.get(key);
      if (item !== null) throw new StorageError(ErrorCodes.ALREADY_EXISTS, `key already exists: ${key}`);
      return { key, value, createRevision: NO_REVISION, modRevision: NO_REVISION, version: 0 };
    },
    async update(key, value, options) {
      const item = await current(key, options?.expectedModRevision);
      return { ...item, value };
    },
    async delete(key, options) {
      const item = await current(key, options?.expectedModRevision);
      return { deleted: item, revision: item.modRevision };
    },
  };
  dryRunViews.add(view);
  return view;
}
