/**
 * Finalizers, as kube-apiserver's Store honours them: deleting an object that has finalizers
 * does not remove it but marks it (`metadata.deletionTimestamp`, `deletionGracePeriodSeconds:
 * 0`; a MODIFIED event), and the update that removes its last finalizer removes it (a DELETED
 * event). While it is being deleted, no finalizer may be added, and no write changes the mark.
 * (Graceful deletion of pods, which waits for a kubelet, is not done: a pod without finalizers
 * is removed at once, as a pod on no node is on kube.)
 */
import type { JsonObject } from './body.js';
import { invalidObject, type ObjectRef } from './api-error.js';
import { timestamp } from './object-meta.js';

export function finalizersOf(meta: JsonObject): string[] {
  return Array.isArray(meta.finalizers) ? meta.finalizers.filter((f): f is string => typeof f === 'string') : [];
}

export function isBeingDeleted(meta: JsonObject): boolean {
  return typeof meta.deletionTimestamp === 'string' && meta.deletionTimestamp !== '';
}

/** Whether a delete only marks the object: it has finalizers to run first. */
export function deleteMarks(meta: JsonObject): boolean {
  return finalizersOf(meta).length > 0;
}

/** Marks an object as being deleted (kube's BeforeDelete for a finalized object), in place. */
export function markDeleted(meta: JsonObject): void {
  meta.deletionTimestamp = timestamp();
  meta.deletionGracePeriodSeconds = 0;
}

/** An update of an object being deleted may remove finalizers, not add them (422, in kube's words). */
export function checkFinalizers(kind: string, ref: ObjectRef, oldMeta: JsonObject, meta: JsonObject): void {
  if (!isBeingDeleted(oldMeta)) return;
  const old = new Set(finalizersOf(oldMeta));
  const added = finalizersOf(meta).filter((f) => !old.has(f));
  if (added.length === 0) return;
  throw invalidObject(kind, ref, [
    {
      reason: 'FieldValueForbidden',
      message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`,
      field: 'metadata.finalizers',
    },
  ]);
}

/** Whether an update leaves an object being deleted without finalizers: then it is removed. */
export function finalizedAway(meta: JsonObject): boolean {
  return isBeingDeleted(meta) && finalizersOf(meta).length === 0;
}
