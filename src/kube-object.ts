/**
 * The shape of a Kubernetes object as JSON, on the ground floor: the cache stores such objects,
 * delivery hands them to in-process watchers, the server reads and writes them.
 */
/** A Kubernetes object as JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [field: string]: unknown;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}
