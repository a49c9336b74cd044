import { MemoryStorage } from '../../src/storage/memory.js';
import { describeCacherConformance } from './cacher-conformance.js';

describeCacherConformance('MemoryStorage', async () => new MemoryStorage({ progressNotifyIntervalMs: 500 }));
