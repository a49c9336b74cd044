/**
 * The `/status` split, as kube's status strategies: for a resource that serves `/status`, a write
 * to the object keeps the stored status, and a write to `/status` keeps everything but the status.
 * A create drops the status, except for the kinds that keep it (registry.ts says which).
 *
 * kube's built-in status strategies let a status write change some metadata too (pods: labels
 * and annotations); watchcache follows the custom resource rule for every kind: only `status`.
 */
import type { JsonObject } from './body.js';
import { isJsonObject } from './body.js';
import type { ResourceDefinition } from './registry.js';
import type { ObjectRoute } from './routes.js';

/**
 * The status a new core object starts with when it has none, as kube's create strategies and
 * defaulting give it: a pod is Pending, a namespace Active, a volume and a claim Pending. (kube
 * also sets a pod's qosClass, from resource quantities; not done here.)
 */
const INITIAL_PHASE: Readonly<Record<string, string>> = { Pod: 'Pending', Namespace: 'Active', PersistentVolume: 'Pending', PersistentVolumeClaim: 'Pending' };

/** Before a create is stored: the status is dropped where kube drops it, and a phase set where kube sets one. */
export function prepareCreate(def: ResourceDefinition, object: JsonObject): void {
  const status = def.subresources?.status;
  if (status !== undefined && !status.createKeepsStatus) delete object.status;
  const phase = def.group === '' ? INITIAL_PHASE[def.kind] : undefined;
  if (phase === undefined) return;
  if (!isJsonObject(object.status)) object.status = { phase };
  else if (object.status.phase === undefined || object.status.phase === '') object.status.phase = phase;
}

function copyField(from: JsonObject, to: JsonObject, field: string): void {
  if (Object.hasOwn(from, field)) to[field] = from[field]!;
  else delete to[field];
}

/**
 * The part of an object a write on `route` may change, for field ownership: without the status
 * on an object that serves /status, only the status on /status; the whole object otherwise.
 */
export function trackedPart(route: ObjectRoute): ((object: JsonObject) => JsonObject) | undefined {
  if (route.resource.subresources?.status === undefined) return undefined;
  if (route.subresource === 'status') return (object) => (Object.hasOwn(object, 'status') ? { status: object.status! } : {});
  return (object) => {
    const { status: _status, ...rest } = object;
    return rest;
  };
}

/**
 * Before an update or patch is stored, `next` (what the client asked for) is cut to what its
 * path may change, in place; `current` is the stored object.
 */
export function prepareUpdate(route: ObjectRoute, current: JsonObject, next: JsonObject): void {
  if (route.resource.subresources?.status === undefined) return;
  if (route.subresource !== 'status') {
    copyField(current, next, 'status');
    return;
  }
  // Rebuilt in place (the caller holds `next.metadata`) in the stored object's field order, so a
  // status write that changes nothing serializes to the stored bytes and is not written.
  const meta = next.metadata as JsonObject;
  // Copied first: a patch result may share its metadata object with `current`.
  const currentMeta: JsonObject = isJsonObject(current.metadata) ? { ...current.metadata } : {};
  const given: JsonObject = { ...next };
  const givenMeta: JsonObject = { ...meta };
  for (const field of Object.keys(next)) delete next[field];
  for (const field of Object.keys(meta)) delete meta[field];
  for (const field of Object.keys(current)) next[field] = field === 'metadata' ? meta : field === 'status' ? given.status! : current[field]!;
  next.metadata = meta;
  if (Object.hasOwn(given, 'status')) next.status = given.status!;
  else delete next.status;
  for (const field of Object.keys(currentMeta)) meta[field] = currentMeta[field]!;
  // The write's own field manager entry (recorded over the status only) is kept.
  if (Object.hasOwn(givenMeta, 'managedFields')) meta.managedFields = givenMeta.managedFields!;
  else delete meta.managedFields;
  // The preconditions are the client's: no resourceVersion makes the write unconditional.
  if (Object.hasOwn(givenMeta, 'resourceVersion')) meta.resourceVersion = givenMeta.resourceVersion!;
  else delete meta.resourceVersion;
  if (Object.hasOwn(givenMeta, 'uid')) meta.uid = givenMeta.uid!;
}
