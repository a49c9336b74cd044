// Worker entry when watchcache runs from its TypeScript sources (tests under vitest): Node 20
// cannot load .ts in a worker by itself, so tsx (a devDependency) loads the real entry point.
// Built code (dist/) never uses this file.
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

await tsImport(workerData.entry, import.meta.url);
