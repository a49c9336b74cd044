/**
 * The end-to-end workload, shared by the writer, the clients and the orchestrator so that each
 * can compute on its own what the others do: pod p lives in namespace ns-(p % 50) on node
 * node-(p % nodes); write number s (its sequence number) updates pod s % pods. Every write
 * carries its sequence number, its pod and its wall-clock send time in a fixed-width annotation
 * near the start of the object, so that a client finds them with one indexOf per event.
 */
import { performance } from 'node:perf_hooks';
import { podObject } from '../fixtures/pods.js';

/** The two watch mixes of the issue. */
export const MIXES = ['all', 'kubelet'] as const;
export type Mix = (typeof MIXES)[number];

export const ETCD_PREFIX = '/registry/pods/';
const MARK_ANNOTATION = 'bench.watchcache.io/e2e';
const MARK = Buffer.from(`"${MARK_ANNOTATION}":"`, 'latin1');
const POD_W = 8;
const SEQ_W = 10;
const TIME_W = 17;
/** "PPPPPPPP SSSSSSSSSS TTTTTTTTTTTTT.ttt" */
const MARK_W = POD_W + 1 + SEQ_W + 1 + TIME_W;

export interface Layout {
  pods: number;
  nodes: number;
  podBytes: number;
}

export function podName(p: number): string {
  return `pod-${p}`;
}

export function podNamespace(p: number): string {
  return `ns-${p % 50}`;
}

export function nodeOf(layout: Layout, p: number): number {
  return p % layout.nodes;
}

export function etcdKey(p: number): string {
  return `${ETCD_PREFIX}${podNamespace(p)}/${podName(p)}`;
}

/** Milliseconds since the epoch with sub-millisecond precision, comparable across processes. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** One pod's JSON, re-marked for every write (one buffer per pod: see the writer's in-flight bound). */
export class MarkedPod {
  readonly index: number;
  readonly bytes: Buffer;
  readonly #at: number;

  constructor(layout: Layout, p: number) {
    this.index = p;
    const object = podObject({
      namespace: podNamespace(p),
      name: podName(p),
      nodeName: `node-${nodeOf(layout, p)}`,
      labels: { app: `app-${p % 20}` },
      bytes: layout.podBytes,
    });
    const meta = object.metadata as { annotations: Record<string, string>; uid?: string };
    // The server assigns the uid at create; an update that carried another would be refused.
    delete meta.uid;
    // First among the annotations, so that the scan for it stops early.
    meta.annotations = { [MARK_ANNOTATION]: '0'.repeat(MARK_W), ...meta.annotations };
    this.bytes = Buffer.from(JSON.stringify(object));
    this.#at = this.bytes.indexOf(MARK) + MARK.length;
  }

  mark(seq: number): Buffer {
    const text = `${String(this.index).padStart(POD_W, '0')} ${String(seq).padStart(SEQ_W, '0')} ${wallNow().toFixed(3).padStart(TIME_W, '0')}`;
    this.bytes.write(text, this.#at, MARK_W, 'latin1');
    return this.bytes;
  }
}

export interface Mark {
  pod: number;
  seq: number;
  /** Send time, wallNow() of the writer. */
  sentAt: number;
}

/** Reads the mark of the object in buf[start, end); undefined when there is none. */
export function readMark(buf: Buffer, start = 0, end = buf.length): Mark | undefined {
  const at = buf.indexOf(MARK, start);
  if (at < 0 || at + MARK.length + MARK_W > end) return undefined;
  const from = at + MARK.length;
  return {
    pod: digits(buf, from, POD_W),
    seq: digits(buf, from + POD_W + 1, SEQ_W),
    sentAt: decimal(buf, from + POD_W + SEQ_W + 2, from + MARK_W),
  };
}

/** A non-negative decimal number written with toFixed(), without making a string of it (clients read one per event). */
function decimal(buf: Buffer, from: number, to: number): number {
  let n = 0;
  let scale = 0;
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c === 46) scale = 1;
    else {
      n = n * 10 + (c - 48);
      scale *= 10;
    }
  }
  return scale === 0 ? n : n / scale;
}

function digits(buf: Buffer, from: number, width: number): number {
  let n = 0;
  for (let i = from; i < from + width; i++) n = n * 10 + (buf[i]! - 48);
  return n;
}
