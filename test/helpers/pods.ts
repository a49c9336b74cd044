/** Pods as tests write them: JSON objects stored at PREFIX/NAMESPACE/NAME. */
import { randomUUID } from 'node:crypto';
import type { Storage } from '../../src/storage/storage.js';
import type { Watch, WatchEvent } from '../../src/delivery/watch-iterator.js';

export interface PodSpec {
  namespace?: string;
  name: string;
  labels?: Record<string, string>;
  nodeName?: string;
  phase?: string;
  /** Extra bytes to make the object bigger. */
  padding?: number;
}

export const POD_SCHEMA = {
  kind: 'Pod',
  apiVersion: 'v1',
  trigger: 'spec.nodeName',
  selectableFields: ['spec.nodeName', 'status.phase'],
} as const;

export function pod(spec: PodSpec): Record<string, unknown> {
  const namespace = spec.namespace ?? 'default';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: spec.name, namespace, ...(spec.labels ? { labels: spec.labels } : {}) },
    spec: {
      ...(spec.nodeName === undefined ? {} : { nodeName: spec.nodeName }),
      ...(spec.padding ? { padding: 'x'.repeat(spec.padding) } : {}),
    },
    status: { phase: spec.phase ?? 'Pending' },
  };
}

/** Writes pods under a prefix of their own, so tests can share one store. */
export class Pods {
  readonly prefix: string;
  readonly storage: Storage;

  constructor(storage: Storage, prefix = `/registry/${randomUUID().slice(0, 8)}/pods/`) {
    this.storage = storage;
    this.prefix = prefix;
  }

  key(name: string, namespace = 'default'): string {
    return `${this.prefix}${namespace}/${name}`;
  }

  /** Create or update; returns the revision of the write. */
  async put(spec: PodSpec): Promise<number> {
    const key = this.key(spec.name, spec.namespace);
    const value = Buffer.from(JSON.stringify(pod(spec)));
    const existing = (await this.storage.get(key)).item;
    const kv = existing === null ? await this.storage.create(key, value) : await this.storage.update(key, value);
    return kv.modRevision;
  }

  async delete(name: string, namespace = 'default'): Promise<number> {
    return (await this.storage.delete(this.key(name, namespace))).revision;
  }
}

export interface Seen {
  type: string;
  name: string | undefined;
  rv: number;
  /** For BOOKMARK: whether it ends the initial events. */
  initialEventsEnd?: boolean;
  /** For ERROR: the Status code and reason. */
  code?: number;
  reason?: string;
  message?: string;
}

export function seen(event: WatchEvent): Seen {
  const object = event.object as {
    metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> };
    code?: number;
    reason?: string;
    message?: string;
  };
  if (event.type === 'ERROR') return { type: 'ERROR', name: undefined, rv: 0, code: object.code!, reason: object.reason!, message: object.message! };
  const out: Seen = { type: event.type, name: object.metadata?.name, rv: Number(object.metadata?.resourceVersion) };
  if (event.type === 'BOOKMARK') out.initialEventsEnd = object.metadata?.annotations?.['k8s.io/initial-events-end'] === 'true';
  return out;
}

/** Read events until `until` says stop or the watch ends; fails clearly after `timeoutMs`. */
export async function readUntil(watch: Watch, until: (events: Seen[]) => boolean, timeoutMs = 15_000): Promise<Seen[]> {
  const events: Seen[] = [];
  const iterator = watch[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`watch did not reach the expected point in ${timeoutMs} ms; saw ${JSON.stringify(events)}`)), timeoutMs);
  });
  try {
    while (!until(events)) {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next.done) break;
      events.push(seen(next.value));
    }
    return events;
  } finally {
    clearTimeout(timer);
  }
}

/** Read until the watch ends. */
export function readAll(watch: Watch, timeoutMs = 15_000): Promise<Seen[]> {
  return readUntil(watch, () => false, timeoutMs);
}

export const objects = (events: readonly Seen[]): Seen[] => events.filter((e) => e.type !== 'BOOKMARK');
export const summary = (events: readonly Seen[]): string[] =>
  events.map((e) => (e.type === 'BOOKMARK' ? `BOOKMARK${e.initialEventsEnd ? '(end)' : ''}` : e.type === 'ERROR' ? `ERROR ${e.code}` : `${e.type} ${e.name}`));

/** A pod manifest as a kubectl test writes it to a file: one nginx container. */
export function podYaml(name: string, namespace: string, labels: Record<string, string>): string {
  return [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${namespace}`,
    '  labels:',
    ...Object.entries(labels).map(([k, v]) => `    ${k}: "${v}"`),
    'spec:',
    '  containers:',
    '  - name: app',
    '    image: nginx',
    '',
  ].join('\n');
}
