/** The Cacher checklist against a real etcd (started on loopback by the test helper). */
import { afterAll } from 'vitest';
import { EtcdStorage } from '../../src/storage/etcd.js';
import { startEtcd, type EtcdHandle } from '../helpers/etcd.js';
import { describeCacherConformance } from './cacher-conformance.js';

let etcd: EtcdHandle | undefined;
const open = async (): Promise<EtcdStorage> => {
  etcd ??= await startEtcd();
  // The helper's etcd sends progress notifications every 500 ms: the cache may trust them.
  return new EtcdStorage({ endpoints: etcd.endpoints, progressNotifyIntervalMs: 500 });
};
afterAll(async () => {
  await etcd?.stop();
});

describeCacherConformance('etcd', open, { workers: 0 });
describeCacherConformance('etcd', open, { workers: 1 });
