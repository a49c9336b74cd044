/** The README's promises, checked as a newcomer would: its embedding example runs as written. */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);

describe('README', () => {
  it('the embedding example runs as written and prints the event it describes', async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const match = /<!-- embedding-example -->\s*```ts\n([\s\S]*?)```/.exec(readme);
    expect(match, 'README has an embedding example').not.toBeNull();
    // Inside the package, `import 'watchcache'` resolves to the package itself (its built dist/).
    const dir = join(root, '.tmp');
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'readme-example.mjs');
    await writeFile(file, match![1]!);
    try {
      const { stdout } = await run(process.execPath, [file], { cwd: root, timeout: 30_000 });
      expect(stdout.trim()).toBe('ADDED web');
    } finally {
      await rm(file, { force: true });
    }
  });

  it('the first screen gives the set-up, test and start commands', async () => {
    const firstScreen = (await readFile(join(root, 'README.md'), 'utf8')).split('\n').slice(0, 40).join('\n');
    for (const command of ['apt-get install -y etcd-server', 'npm ci', 'npm test', 'npm start']) expect(firstScreen).toContain(command);
  });
});
