/** piscina task entry point: snapshot encoding. The logic lives in src/encode/snapshot-task.ts. */
import { move } from 'piscina';
import { encodeSnapshot, type SnapshotTask } from '../src/encode/snapshot-task.js';

export default function run(task: SnapshotTask): ArrayBuffer {
  // Hand the frames back without a copy.
  return move(encodeSnapshot(task)) as ArrayBuffer;
}
