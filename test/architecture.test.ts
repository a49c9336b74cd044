/**
 * The folders of src/ are the stages of the data flow (docs/architecture.md, "Folder map"): a
 * module imports only from its own stage or the ones below it, never from a later stage.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

/** Each top-level file or folder of src/ and its stage, lowest first. */
const STAGES: Record<string, number> = {
  'errors.ts': 0,
  'status.ts': 0,
  'kube-object.ts': 0,
  'worker-entry.ts': 0,
  'validation.ts': 0,
  'command-line.ts': 0,
  'clock.ts': 0,
  select: 0,
  storage: 1,
  ring: 2,
  encode: 3,
  dispatch: 4,
  delivery: 5,
  cache: 6,
  server: 7,
  'cli.ts': 8,
  'index.ts': 9,
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The top-level entry of src/ a path is in. */
function topOf(path: string): string {
  return relative(SRC, path).split(sep)[0]!;
}

describe('the stages of src/', () => {
  it('every top-level file and folder of src/ has a stage', () => {
    const tops = new Set(sources(SRC).map(topOf));
    expect([...tops].filter((top) => STAGES[top] === undefined)).toEqual([]);
  });

  it('no module imports from a later stage', () => {
    const upward: string[] = [];
    for (const file of sources(SRC)) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/(?:from |import\()'(\.{1,2}\/[^']+)'/g)) {
        const target = resolve(dirname(file), match[1]!);
        if (!target.startsWith(SRC + sep)) continue; // outside src/: bench/, checked by packaging
        const from = topOf(file);
        const to = topOf(target.replace(/\.js$/, '.ts'));
        if ((STAGES[to] ?? Infinity) > STAGES[from]!) upward.push(`${relative(SRC, file)} → ${match[1]}`);
      }
    }
    expect(upward).toEqual([]);
  });
});
