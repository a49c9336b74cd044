/** The command-line parser shared by `watchcache serve` and `watchcache bench`. */
import { describe, expect, it } from 'vitest';
import { parseFlags, type FlagSpec } from '../src/command-line.js';

const SPEC: FlagSpec = { port: { type: 'string' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } };
const parse = (...argv: string[]) => [...parseFlags(argv, SPEC)].map(({ flag, value }) => [flag, value]);

describe('parseFlags', () => {
  it('reads `--flag value`, `--flag=value`, booleans and the short -h, in order, repeats included', () => {
    expect(parse('--port', '1', '--quiet', '--port=2', '-h')).toEqual([
      ['--port', '1'],
      ['--quiet', undefined],
      ['--port', '2'],
      ['--help', undefined],
    ]);
  });

  it.each([
    [['--bogus'], 'unknown option "--bogus"'],
    [['--bogus=1'], 'unknown option "--bogus=1"'],
    [['stray'], 'unknown option "stray"'],
    [['--quiet=yes'], 'unknown option "--quiet=yes"'],
    [['--'], 'unknown option "--"'],
    [['--port'], '--port needs a value'],
    [['--port='], '--port needs a value'],
    [['--port', '--quiet'], '--port needs a value'],
  ])('%j is a usage error: %s', (argv, message) => {
    expect(() => parse(...argv)).toThrow(message);
  });

  it('a value may start with a single dash (it is then checked by the flag)', () => {
    expect(parse('--port', '-1')).toEqual([['--port', '-1']]);
  });

  it('reports the first mistake in the command line', () => {
    const flags = parseFlags(['--port', '1', '--bogus', '--port'], SPEC);
    expect(flags.next().value).toEqual({ name: 'port', flag: '--port', value: '1' });
    expect(() => flags.next()).toThrow('unknown option "--bogus"');
  });
});
