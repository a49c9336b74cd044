/**
 * The argument checks every Storage backend makes, in the same words: a bad key, value, revision
 * or limit is a StorageError with WC_ERR_INVALID, whichever backend the caller reached.
 */
import { invalidStorageArgument } from '../errors.js';

export function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw invalidStorageArgument('key must be a non-empty string');
}

export function checkValue(value: Uint8Array): void {
  if (!(value instanceof Uint8Array)) throw invalidStorageArgument('value must be a Uint8Array');
}

/** A revision argument: a positive safe integer; `name` is the option it came as. */
export function checkRevision(revision: number, name = 'revision'): void {
  if (!Number.isSafeInteger(revision) || revision < 1) throw invalidStorageArgument(`${name} must be a positive integer, got ${revision}`);
}

/** The same for an optional one: unset passes. */
export function checkOptionalRevision(revision: number | undefined, name: string): void {
  if (revision !== undefined) checkRevision(revision, name);
}

/** A page size: 0 (no limit) or more. */
export function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 0) throw invalidStorageArgument(`limit must be a non-negative integer, got ${limit}`);
}
