/**
 * CREATE, UPDATE, PATCH and DELETE: straight to the Storage, with resourceVersion preconditions
 * mapped onto etcd's mod-revision compare (metadata.resourceVersion is never stored; it is the
 * key's revision). The cache learns of every write through its own watch, like any other writer.
 *
 * Updates and patches read the current object, build the new one and write it only if the key
 * is still at the revision read. When the client named no resourceVersion that loop is retried
 * (an unconditional update); when it did, a moved key is a 409 Conflict. A write that changes
 * nothing is not written, as kube-apiserver's GuaranteedUpdate.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseResourceVersion } from '../cache/request.js';
import { decodeJsonObject, stampResourceVersion } from '../encode/json-object.js';
import { ErrorCodes, isWatchCacheError } from '../errors.js';
import type { KeyValue } from '../storage/storage.js';
import { alreadyExists, badRequest, conflict, MODIFIED, notFound, unsupportedMediaType, type ObjectRef } from './api-error.js';
import { encodeObject, isJsonObject, parseJson, readBody, type BodyLimits, type JsonObject } from './body.js';
import { contentMediaType } from './media.js';
import { generateName } from './names.js';
import {
  checkPathName,
  checkTypeMeta,
  keepSystemFields,
  metadataOf,
  refOf,
  requireName,
  settleNamespace,
  timestamp,
} from './object-meta.js';
import { metadataProblems, type MetadataCheck } from './metadata-validation.js';
import { checkObject, type FieldValidation } from './schema-validation.js';
import { dryRunStore, isDryRun, NO_REVISION, type WriteStore } from './dry-run.js';
import { jsonPatch, mergePatch, JSON_PATCH, PATCH_TYPES, STRATEGIC_MERGE_PATCH } from './patch.js';
import { readDeleteOptions, readObjectBody, sendObject } from './protobuf-media.js';
import { APPLY_PATCH_TYPES, fieldManagerOf, forceOf, parseApplyConfiguration, recordUpdate, serverSideApply, type FieldManagement } from './merge/apply.js';
import { strategicPatchFor } from './merge/strategic.js';
import { customResourceSchema, kindSchema } from './merge/type-info.js';
import { groupVersion } from './registry.js';
import type { Registry } from './registry.js';
import type { ObjectRoute, ResourceRoute } from './routes.js';
import { prepareCreate, prepareUpdate, trackedPart } from './status-subresource.js';
import { applyDefaults } from './defaults.js';
import { checkFinalizers, deleteMarks, finalizedAway, isBeingDeleted, markDeleted } from './finalizers.js';

export interface WriteContext {
  /** The store, or a dry-run view of it (dry-run.ts). */
  storage: WriteStore;
  registry: Registry;
  body: BodyLimits;
  /** Largest object stored, serialized (the store's value limit): larger is 413. */
  maxObjectBytes: number;
  /** The request's `fieldValidation` (unknown fields): Warn when unset. */
  fieldValidation?: FieldValidation;
}

/** Tries of an unconditional update whose key keeps moving under it. */
const UPDATE_ATTEMPTS = 5;
/** Tries of a generateName create whose generated name is taken. */
const GENERATE_ATTEMPTS = 8;

function withRevision(object: JsonObject, revision: number): JsonObject {
  if (revision === NO_REVISION) {
    delete (object.metadata as JsonObject).resourceVersion;
    return object;
  }
  return stampResourceVersion(object, revision);
}

export function decodeStored(kv: KeyValue): JsonObject {
  // A value another writer stored that is not a JSON object is treated as an empty one.
  try {
    return decodeJsonObject(kv.value);
  } catch {
    return {};
  }
}

/** Storage errors of a write, in kube-apiserver's words. */
export function storageError(err: unknown, ref: ObjectRef): unknown {
  if (!isWatchCacheError(err)) return err;
  switch (err.code) {
    case ErrorCodes.ALREADY_EXISTS:
      return alreadyExists(ref);
    case ErrorCodes.NOT_FOUND:
      return notFound(ref);
    case ErrorCodes.CONFLICT:
      return conflict(ref, MODIFIED);
    default:
      return err;
  }
}

/** An object's metadata.resourceVersion as a precondition: undefined when unset, "" or "0". */
function precondition(meta: JsonObject): number | undefined {
  const rv = meta.resourceVersion;
  if (rv === undefined || rv === '' || rv === '0') return undefined;
  try {
    return parseResourceVersion(String(rv));
  } catch {
    throw badRequest(`metadata.resourceVersion: invalid value ${JSON.stringify(rv)}`);
  }
}

// ---- CREATE ----------------------------------------------------------------------------------

export async function serveCreate(req: IncomingMessage, res: ServerResponse, ctx: WriteContext, route: ResourceRoute): Promise<void> {
  const def = route.resource;
  const object = await readObjectBody(req, ctx.body, def);
  checkTypeMeta(object, def);
  const meta = metadataOf(object);
  settleNamespace(meta, def, route.namespace);
  recordUpdate(undefined, object, fieldManagement(def, fieldManagerOf(req, false)));
  const base = typeof meta.generateName === 'string' && meta.generateName !== '' ? meta.generateName : undefined;
  const given = typeof meta.name === 'string' && meta.name !== '' ? meta.name : undefined;
  if (given === undefined && base === undefined) requireName(def);
  setSystemFields(meta);
  prepareCreate(def, object);

  for (let attempt = 1; ; attempt++) {
    const name = given ?? generateName(base!);
    meta.name = name;
    validate(res, ctx, def, object, 'create');
    const ref = refOf(def, name);
    let kv: KeyValue;
    try {
      kv = await ctx.storage.create(ctx.registry.keyOf(def, route.namespace, name), encodeObject(object, ctx.maxObjectBytes));
    } catch (err) {
      // A generated name that is taken is retried with another, as kube-apiserver does.
      if (given === undefined && attempt < GENERATE_ATTEMPTS && isWatchCacheError(err) && err.code === ErrorCodes.ALREADY_EXISTS) continue;
      throw storageError(err, ref);
    }
    sendObject(res, 201, withRevision(object, kv.modRevision));
    return;
  }
}

/**
 * Validates what would be stored, once per write: its metadata (metadata-validation.ts) and the
 * whole object by its schema (schema-validation.ts), all 422 causes in one Status. Unknown fields
 * are dropped, and under fieldValidation=Warn named in `Warning` headers. Then kube's defaults
 * are filled in (defaults.ts).
 */
function validate(res: ServerResponse, ctx: WriteContext, def: ObjectRoute['resource'], object: JsonObject, check: MetadataCheck): void {
  const warnings = checkObject(def, object, ctx.fieldValidation ?? 'Warn', metadataProblems(def, metadataOf(object), check));
  // After the checks, so a field of the wrong type is reported rather than defaulted around.
  applyDefaults(def, object);
  // As kube-apiserver's warning headers: code 299, agent "-", the text quoted.
  if (warnings.length > 0) res.setHeader('Warning', warnings.map((text) => `299 - ${JSON.stringify(text)}`));
}

/** System fields are the server's: whatever the client sent is replaced. */
function setSystemFields(meta: JsonObject): void {
  delete meta.resourceVersion;
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  delete meta.selfLink;
  meta.uid = randomUUID();
  meta.creationTimestamp = timestamp();
}

/**
 * The type information and manager field ownership is recorded with (merge/apply.ts); `route` for writes to an existing object or to its
 * /status or /scale (scale.ts narrows what a /scale write tracks to its replicas).
 */
export function fieldManagement(def: ObjectRoute['resource'], manager: string, route?: ObjectRoute): FieldManagement {
  const apiVersion = groupVersion(def);
  const out: FieldManagement = { schema: kindSchema(apiVersion, def.kind) ?? customResourceSchema(def.mergeSchema), apiVersion, kind: def.kind, manager, now: timestamp() };
  const tracked = route === undefined ? undefined : trackedPart(route);
  if (tracked !== undefined) out.tracked = tracked;
  if (route?.subresource !== undefined) out.subresource = route.subresource;
  return out;
}

// ---- UPDATE and PATCH --------------------------------------------------------------------------

/**
 * Builds the new object from the current one (which carries its resourceVersion, so a patch can
 * test or pin it). Returns the object to store; its metadata.resourceVersion, if set, must be
 * the current one.
 */
type Transform = (current: JsonObject) => JsonObject;

/**
 * The update loop. `present` turns the object stored into the response (a subresource answers
 * with its own view, e.g. a Scale). `create` builds the object when there is none (server-side
 * apply creates); else a missing object is 404.
 */
export async function guardedUpdate(
  res: ServerResponse,
  ctx: WriteContext,
  route: ObjectRoute,
  transform: Transform,
  present: (stored: JsonObject) => JsonObject = (stored) => stored,
  create?: () => JsonObject,
): Promise<void> {
  const def = route.resource;
  const ref = refOf(def, route.name);
  const key = ctx.registry.keyOf(def, route.namespace, route.name);
  for (let attempt = 1; ; attempt++) {
    const { item } = await ctx.storage.get(key);
    if (item === null && create !== undefined) {
      const object = create();
      checkTypeMeta(object, def);
      const meta = metadataOf(object);
      settleNamespace(meta, def, route.namespace);
      checkPathName(meta, route.name);
      setSystemFields(meta);
      prepareCreate(def, object);
      validate(res, ctx, def, object, 'create');
      let kv: KeyValue;
      try {
        kv = await ctx.storage.create(key, encodeObject(object, ctx.maxObjectBytes));
      } catch (err) {
        // Created meanwhile: apply to that one.
        if (attempt < UPDATE_ATTEMPTS && isWatchCacheError(err) && err.code === ErrorCodes.ALREADY_EXISTS) continue;
        throw storageError(err, ref);
      }
      sendObject(res, 201, present(withRevision(object, kv.modRevision)));
      return;
    }
    if (item === null) throw notFound(ref);
    const current = decodeStored(item);
    const currentMeta = stampResourceVersion(current, item.modRevision).metadata as JsonObject;

    const next = transform(current);
    checkTypeMeta(next, def);
    const meta = metadataOf(next);
    settleNamespace(meta, def, route.namespace);
    checkPathName(meta, route.name);
    prepareUpdate(route, current, next);
    const pinned = precondition(meta);
    if (pinned !== undefined && pinned !== item.modRevision) throw conflict(ref, MODIFIED);
    keepSystemFields(meta, currentMeta, ref);
    checkFinalizers(def.kind, ref, currentMeta, meta);
    delete meta.resourceVersion;
    validate(res, ctx, def, next, 'update');
    // Its last finalizer removed, an object being deleted goes instead (kube's Store.Update).
    const bytes = finalizedAway(meta) ? undefined : encodeObject(next, ctx.maxObjectBytes);
    if (bytes !== undefined && Buffer.from(item.value.buffer, item.value.byteOffset, item.value.byteLength).equals(bytes)) {
      sendObject(res, 200, present(withRevision(next, item.modRevision)));
      return;
    }
    const expected = { expectedModRevision: item.modRevision };
    let revision: number;
    try {
      revision = bytes === undefined ? (await ctx.storage.delete(key, expected)).revision : (await ctx.storage.update(key, bytes, expected)).modRevision;
    } catch (err) {
      const moved = isWatchCacheError(err) && err.code === ErrorCodes.CONFLICT;
      if (moved && pinned === undefined && attempt < UPDATE_ATTEMPTS) continue;
      throw storageError(err, ref);
    }
    sendObject(res, 200, present(withRevision(next, revision)));
    return;
  }
}

export async function serveUpdate(req: IncomingMessage, res: ServerResponse, ctx: WriteContext, route: ObjectRoute): Promise<void> {
  const object = await readObjectBody(req, ctx.body, route.resource);
  checkTypeMeta(object, route.resource);
  const meta = metadataOf(object);
  checkPathName(meta, route.name);
  // Checked before the store is read; without one the PUT is unconditional.
  precondition(meta);
  const fields = fieldManagement(route.resource, fieldManagerOf(req, false), route);
  await guardedUpdate(res, ctx, route, (current) => {
    const next = structuredCloneJson(object);
    recordUpdate(current, next, fields);
    return next;
  });
}

/** A request's patch, checked, ready to apply to any object with `applyPatch`. */
export interface RequestPatch {
  type: string;
  patch: unknown;
  /** A strategic merge patch as a transform, by the patched kind's patch strategies. */
  strategic?: (current: JsonObject) => JsonObject;
}

export async function readPatch(
  req: IncomingMessage,
  ctx: WriteContext,
  strategicFor?: (patch: JsonObject) => (current: JsonObject) => JsonObject,
): Promise<RequestPatch> {
  const type = contentMediaType(req.headers['content-type']);
  // Server-side apply is served where strategic merge is (objects and /status), not on /scale:
  // the 415 lists what this path takes.
  if (!PATCH_TYPES.includes(type)) throw unsupportedMediaType(type, strategicFor === undefined ? PATCH_TYPES : [...PATCH_TYPES, ...APPLY_PATCH_TYPES]);
  const patch = parseJson(await readBody(req, ctx.body), 'the patch');
  if (type === JSON_PATCH && !Array.isArray(patch)) throw badRequest('a JSON patch must be an array of operations');
  if (type !== JSON_PATCH && !isJsonObject(patch)) throw badRequest('a merge patch must be a JSON object');
  return { type, patch, ...(type === STRATEGIC_MERGE_PATCH && strategicFor !== undefined ? { strategic: strategicFor(patch as JsonObject) } : {}) };
}

/**
 * Applies a request's patch to `current`. A strategic merge patch merges by the kind's patch
 * strategies where the caller gave them (`readPatch`'s `strategicFor`); without them (a Scale,
 * which has no lists) it means what the same merge patch means.
 */
export function applyPatch(ctx: WriteContext, { type, patch, strategic }: RequestPatch, current: JsonObject): JsonObject {
  const patched =
    strategic !== undefined ? strategic(current) : type === JSON_PATCH ? jsonPatch(current, patch, { maxObjectBytes: ctx.maxObjectBytes, maxCopyBytes: ctx.maxObjectBytes }) : mergePatch(current, patch);
  if (!isJsonObject(patched)) throw badRequest('the patched object is not a JSON object');
  return patched;
}

export async function servePatch(req: IncomingMessage, res: ServerResponse, ctx: WriteContext, route: ObjectRoute): Promise<void> {
  const type = contentMediaType(req.headers['content-type']);
  if (APPLY_PATCH_TYPES.includes(type)) return serveApply(req, res, ctx, route);
  const fields = fieldManagement(route.resource, fieldManagerOf(req, false), route);
  forceOf(req, false);
  const patch = await readPatch(req, ctx, (p) => strategicPatchFor(route.resource, p));
  await guardedUpdate(res, ctx, route, (current) => {
    const before = structuredCloneJson(current);
    const patched = applyPatch(ctx, patch, current);
    recordUpdate(before, patched, fields);
    return patched;
  });
}

/** Server-side apply: a PATCH that creates the object when there is none. */
async function serveApply(req: IncomingMessage, res: ServerResponse, ctx: WriteContext, route: ObjectRoute): Promise<void> {
  const def = route.resource;
  const fields = fieldManagement(def, fieldManagerOf(req, true), route);
  const force = forceOf(req, true);
  const config = parseApplyConfiguration(await readBody(req, ctx.body));
  checkTypeMeta(config, def);
  const meta = metadataOf(config);
  checkPathName(meta, route.name);
  precondition(meta);
  await guardedUpdate(
    res,
    ctx,
    route,
    (current) => serverSideApply(current, config, fields, force),
    (stored) => stored,
    // Applying to /status never creates (kube: 404), as no /status write does.
    route.subresource === undefined ? () => serverSideApply(undefined, config, fields, force) : undefined,
  );
}

/** A deep copy of a parsed JSON object (each update attempt starts from the request's object). */
function structuredCloneJson(object: JsonObject): JsonObject {
  return JSON.parse(JSON.stringify(object)) as JsonObject;
}

// ---- DELETE ----------------------------------------------------------------------------------

export interface DeleteOptions {
  uid?: string;
  resourceVersion?: number;
  /** DeleteOptions.dryRun, checked: every value is `All`. */
  dryRun?: true;
}

/**
 * DeleteOptions.preconditions and dryRun, from an optional JSON body. Other delete options do
 * not apply here.
 */
export async function deleteOptions(req: IncomingMessage, ctx: WriteContext): Promise<DeleteOptions> {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (!hasBody) return {};
  const options = await readDeleteOptions(req, ctx.body);
  if (options === undefined) return {};
  const out: DeleteOptions = {};
  const dryRun = options.dryRun;
  if (dryRun !== undefined && dryRun !== null) {
    if (!Array.isArray(dryRun) || dryRun.some((v) => typeof v !== 'string')) throw badRequest('dryRun must be an array of strings');
    if (isDryRun(dryRun as string[], 'DeleteOptions')) out.dryRun = true;
  }
  const pre = options.preconditions;
  if (pre === undefined || pre === null) return out;
  if (!isJsonObject(pre)) throw badRequest('preconditions must be an object');
  if (pre.uid !== undefined && pre.uid !== null) {
    if (typeof pre.uid !== 'string') throw badRequest('preconditions.uid must be a string');
    out.uid = pre.uid;
  }
  if (pre.resourceVersion !== undefined && pre.resourceVersion !== null && pre.resourceVersion !== '') {
    let rv: number | undefined;
    try {
      rv = parseResourceVersion(String(pre.resourceVersion));
    } catch {
      throw badRequest(`preconditions.resourceVersion: invalid value ${JSON.stringify(pre.resourceVersion)}`);
    }
    if (rv !== undefined && rv !== 0) out.resourceVersion = rv;
  }
  return out;
}

export async function serveDelete(req: IncomingMessage, res: ServerResponse, writeContext: WriteContext, route: ObjectRoute): Promise<void> {
  const def = route.resource;
  const pre = await deleteOptions(req, writeContext);
  const ctx = pre.dryRun === true ? { ...writeContext, storage: dryRunStore(writeContext.storage) } : writeContext;
  const { object, revision } = await deleteObject(ctx, writeContext.registry.keyOf(def, route.namespace, route.name), refOf(def, route.name), pre);
  if (!isJsonObject(object.metadata)) {
    // Not an object we can show: answer the Status kube-apiserver sends for such deletes.
    sendObject(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: route.name, kind: def.plural } });
    return;
  }
  // The deleted object carries the deletion revision, like the DELETED watch event.
  sendObject(res, 200, withRevision(object, revision));
}

/**
 * Deletes the object at `key`, or, while it has finalizers, marks it as being deleted
 * (finalizers.ts). Returns the object as deleted or marked, and the revision of that change.
 */
export async function deleteObject(
  ctx: WriteContext,
  key: string,
  ref: ObjectRef,
  pre: { uid?: string; resourceVersion?: number } = {},
): Promise<{ object: JsonObject; revision: number }> {
  for (let attempt = 1; ; attempt++) {
    const { item } = await ctx.storage.get(key);
    if (item === null) throw notFound(ref);
    const object = decodeStored(item);
    const meta = isJsonObject(object.metadata) ? object.metadata : {};
    if (pre.uid !== undefined) {
      const uid = typeof meta.uid === 'string' ? meta.uid : '';
      if (uid !== pre.uid) throw conflict(ref, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${uid}`);
    }
    if (pre.resourceVersion !== undefined && pre.resourceVersion !== item.modRevision) throw conflict(ref, MODIFIED);
    try {
      // The delete must hit the revision read, whose uid and finalizers were checked.
      if (!deleteMarks(meta)) {
        const result = await ctx.storage.delete(key, { expectedModRevision: item.modRevision });
        return { object: decodeStored(result.deleted), revision: result.revision };
      }
      if (isBeingDeleted(meta)) return { object, revision: item.modRevision };
      markDeleted(meta);
      const kv = await ctx.storage.update(key, encodeObject(object, ctx.maxObjectBytes), { expectedModRevision: item.modRevision });
      return { object, revision: kv.modRevision };
    } catch (err) {
      const moved = isWatchCacheError(err) && err.code === ErrorCodes.CONFLICT;
      if (moved && pre.resourceVersion === undefined && attempt < UPDATE_ATTEMPTS) continue;
      throw storageError(err, ref);
    }
  }
}
