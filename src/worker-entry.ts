/**
 * Where the thread entry points of `workers/` are. Built code runs them from `dist/workers/`.
 * From the TypeScript sources (tests under vitest) it runs the build of the same sources when
 * that build is current, because starting tsx in every thread costs about a second; otherwise
 * worker_threads go through a tsx loader and pools fall back to running their task inline.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FROM_SOURCE = import.meta.url.endsWith('.ts');
/** The repository root from the sources, dist/ from the build. */
const ROOT = new URL('../', import.meta.url);
let current: boolean | undefined;

export interface WorkerEntry {
  /** The file a Worker (or a pool) should load. */
  url: URL;
  /** For worker_threads from stale sources: workerData.entry for the tsx loader at `url`. */
  entry?: string;
}

/** The entry `workers/NAME` (without extension), for a worker_thread. */
export function workerEntry(name: string): WorkerEntry {
  if (!FROM_SOURCE || buildIsCurrent()) return { url: builtEntry(name) };
  return { url: new URL('workers/dev-loader.mjs', ROOT), entry: new URL(`workers/${name}.ts`, ROOT).href };
}

/** The built entry `workers/NAME` for a pool, or undefined when only stale sources exist. */
export function builtPoolEntry(name: string): URL | undefined {
  return !FROM_SOURCE || buildIsCurrent() ? builtEntry(name) : undefined;
}

function builtEntry(name: string): URL {
  return new URL(FROM_SOURCE ? `dist/workers/${name}.js` : `workers/${name}.js`, ROOT);
}

function buildIsCurrent(): boolean {
  if (current !== undefined) return current;
  const root = fileURLToPath(ROOT);
  let built: number;
  try {
    built = statSync(join(root, 'dist/workers/dispatcher.js')).mtimeMs;
  } catch {
    return (current = false);
  }
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce(
      (max, entry) => Math.max(max, entry.isDirectory() ? newest(join(dir, entry.name)) : statSync(join(dir, entry.name)).mtimeMs),
      0,
    );
  return (current = built >= Math.max(newest(join(root, 'src')), newest(join(root, 'workers'))));
}
