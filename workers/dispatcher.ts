/** Worker entry point: a dispatcher thread. The logic lives in src/dispatch/worker-main.ts. */
import { parentPort, workerData } from 'node:worker_threads';
import { runDispatcherWorker } from '../src/dispatch/worker-main.js';
import type { DispatcherConfig } from '../src/dispatch/protocol.js';

if (parentPort === null) throw new Error('workers/dispatcher must run in a worker thread');
runDispatcherWorker(parentPort, workerData as DispatcherConfig);
