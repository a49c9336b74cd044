/**
 * The checks and defaults every write applies to an object's type and metadata, as
 * kube-apiserver's rest.BeforeCreate / BeforeUpdate do for the fields this server owns.
 */
import { badRequest, conflict, invalidObject, type ObjectRef } from './api-error.js';
import { isJsonObject, type JsonObject } from './body.js';
import { groupVersion, type ResourceDefinition } from './registry.js';

export function refOf(def: ResourceDefinition, name: string): ObjectRef {
  return { resource: def.plural, group: def.group, name };
}

/** apiVersion and kind: filled in when absent, refused (400) when they name another type. */
export function checkTypeMeta(object: JsonObject, def: ResourceDefinition): void {
  const apiVersion = groupVersion(def);
  if (object.apiVersion === undefined || object.apiVersion === '') object.apiVersion = apiVersion;
  else if (object.apiVersion !== apiVersion) {
    throw badRequest(`the API version in the data (${String(object.apiVersion)}) does not match the expected API version (${apiVersion})`);
  }
  if (object.kind === undefined || object.kind === '') object.kind = def.kind;
  else if (object.kind !== def.kind) throw badRequest(`the kind in the data (${String(object.kind)}) does not match the expected kind (${def.kind})`);
}

/** The object's metadata, created when absent; its typed fields checked (400 when mistyped). */
export function metadataOf(object: JsonObject): JsonObject {
  if (object.metadata === undefined || object.metadata === null) object.metadata = {};
  const meta = object.metadata;
  if (!isJsonObject(meta)) throw badRequest('metadata must be an object');
  for (const field of ['name', 'generateName', 'namespace', 'resourceVersion', 'uid', 'creationTimestamp']) {
    // Go clients serialize unset times as null (`creationTimestamp: null` in kubectl's output).
    if (meta[field] === null) delete meta[field];
    else if (meta[field] !== undefined && typeof meta[field] !== 'string') throw badRequest(`metadata.${field} must be a string`);
  }
  for (const field of ['labels', 'annotations']) {
    const map = meta[field];
    if (map === undefined || map === null) continue;
    if (!isJsonObject(map) || Object.values(map).some((v) => typeof v !== 'string')) {
      throw badRequest(`metadata.${field} must be an object of strings`);
    }
  }
  return meta;
}

/**
 * The namespace of a written object: the path's. An object naming another one is refused (400);
 * a cluster-scoped object's namespace is cleared, as kube-apiserver does.
 */
export function settleNamespace(meta: JsonObject, def: ResourceDefinition, pathNamespace: string | undefined): void {
  if (!def.namespaced) {
    delete meta.namespace;
    return;
  }
  if (meta.namespace === undefined || meta.namespace === '') meta.namespace = pathNamespace;
  else if (meta.namespace !== pathNamespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
}

/** The object's name must be the path's (400 otherwise, as kube-apiserver's checkName). */
export function checkPathName(meta: JsonObject, pathName: string): void {
  const name = typeof meta.name === 'string' ? meta.name : '';
  if (name !== pathName) throw badRequest(`the name of the object (${name}) does not match the name on the URL (${pathName})`);
}

export function requireName(def: ResourceDefinition): never {
  throw invalidObject(def.kind, refOf(def, ''), [
    { reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' },
  ]);
}

/** RFC 3339 in UTC without fractional seconds, as metav1.Time marshals. */
export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Carries the fields an update may not change over from the stored object: uid (a different
 * one is a failed precondition, 409), creationTimestamp and the deletion mark.
 */
export function keepSystemFields(meta: JsonObject, oldMeta: JsonObject, ref: ObjectRef): void {
  const oldUid = typeof oldMeta.uid === 'string' ? oldMeta.uid : undefined;
  if (meta.uid === undefined || meta.uid === '') {
    if (oldUid !== undefined) meta.uid = oldUid;
  } else if (oldUid !== undefined && meta.uid !== oldUid) {
    throw conflict(ref, `Precondition failed: UID in precondition: ${oldUid}, UID in object meta: ${String(meta.uid)}`);
  }
  if (oldMeta.creationTimestamp !== undefined) meta.creationTimestamp = oldMeta.creationTimestamp;
  // The deletion mark is the server's (a delete sets it), as kube's BeforeUpdate keeps it.
  for (const field of ['deletionTimestamp', 'deletionGracePeriodSeconds']) {
    if (oldMeta[field] !== undefined) meta[field] = oldMeta[field];
    else delete meta[field];
  }
}
