import { MemoryStorage } from '../../src/storage/memory.js';
import { describeCacherConformance } from './cacher-conformance.js';

// The same checklist, with dispatch inline and on worker threads.
describeCacherConformance('MemoryStorage', async () => new MemoryStorage({ progressNotifyIntervalMs: 500 }), { workers: 0 });
describeCacherConformance('MemoryStorage', async () => new MemoryStorage({ progressNotifyIntervalMs: 500 }), { workers: 2 });
