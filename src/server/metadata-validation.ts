/**
 * kube-apiserver's object metadata validation (apimachinery's ValidateObjectMeta on create,
 * ValidateObjectMetaUpdate on update and patch), for the fields this server stores as given: the
 * name and generateName by the resource's name rule, label keys and values, annotation keys and
 * the annotations' total size. Every problem becomes one cause of a single 422 Invalid, so a
 * client sees all of them at once, worded as kubectl shows them.
 */
import { badRequest } from './api-error.js';
import type { JsonObject } from './body.js';
import { nameErrors } from './names.js';
import type { ResourceDefinition } from './registry.js';
import type { StatusCause } from '../status.js';
import { byteLength, labelValueErrors, qualifiedNameErrors } from '../validation.js';

/** apimachinery's TotalAnnotationSizeLimitB: keys and values together, in bytes. */
const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export type MetadataCheck = 'create' | 'update';

function invalidValue(field: string, value: string, message: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${message}`, field };
}

/** The causes of one object's metadata; empty when it is valid. `meta` was typed by metadataOf. */
function metadataCauses(def: ResourceDefinition, meta: JsonObject, check: MetadataCheck): StatusCause[] {
  const causes: StatusCause[] = [];
  if (check === 'create') {
    // The name is validated on create only: an update may not change it (it is the path's).
    const generate = typeof meta.generateName === 'string' ? meta.generateName : '';
    if (generate !== '') {
      for (const message of nameErrors(generate, def.nameRule, true)) causes.push(invalidValue('metadata.generateName', generate, message));
    }
    // Set by now: given, or generated (write.ts refuses an object with neither).
    const name = typeof meta.name === 'string' ? meta.name : '';
    for (const message of nameErrors(name, def.nameRule)) causes.push(invalidValue('metadata.name', name, message));
  }

  const labels = (meta.labels ?? {}) as Readonly<Record<string, string>>;
  for (const [key, value] of Object.entries(labels)) {
    for (const message of qualifiedNameErrors(key)) causes.push(invalidValue('metadata.labels', key, message));
    for (const message of labelValueErrors(value)) causes.push(invalidValue('metadata.labels', value, message));
  }

  const annotations = (meta.annotations ?? {}) as Readonly<Record<string, string>>;
  let size = 0;
  for (const [key, value] of Object.entries(annotations)) {
    // Annotation keys are qualified names in which case does not matter.
    for (const message of qualifiedNameErrors(key.toLowerCase())) causes.push(invalidValue('metadata.annotations', key, message));
    size += byteLength(key) + byteLength(value);
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) {
    // The value is left out of a too-long error, as kube does.
    causes.push({ reason: 'FieldValueTooLong', message: `Too long: must have at most ${TOTAL_ANNOTATION_SIZE_LIMIT} bytes`, field: 'metadata.annotations' });
  }
  return causes;
}

/**
 * The 422 causes of an object's metadata for `def` (none: valid). A resource that does not
 * validate metadata (core/v1 Events) still needs a name its rule allows in a storage key: 400
 * otherwise, as kube-apiserver's key function answers.
 */
export function metadataProblems(def: ResourceDefinition, meta: JsonObject, check: MetadataCheck): StatusCause[] {
  const name = typeof meta.name === 'string' ? meta.name : '';
  if (!def.validatesMetadata) {
    const problems = nameErrors(name, def.nameRule);
    if (problems.length > 0) throw badRequest(`Name parameter invalid: ${JSON.stringify(name)}: ${problems.join(';')}`);
    return [];
  }
  return metadataCauses(def, meta, check);
}
