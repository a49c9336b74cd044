/** Memory readings. Heap numbers are taken after full collections so that garbage does not count. */
import process from 'node:process';

const MiB = 1024 * 1024;

/** Two full collections: the second one frees what the first one's finalizers released. */
export function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('the benchmark child must run with --expose-gc');
  gc();
  gc();
}

export function heapUsed(): number {
  return process.memoryUsage().heapUsed;
}

export function rss(): number {
  return process.memoryUsage.rss();
}

export function toMiB(bytes: number): number {
  return bytes / MiB;
}

/** The largest RSS this process has had so far (getrusage maxrss), MiB. */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}
