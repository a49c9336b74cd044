/**
 * The one command-line parser, for `watchcache serve` and `watchcache bench`: node's
 * util.parseArgs reads the flags (`--flag value`, `--flag=value`, `-h`), and every mistake becomes
 * a UsageError in the same words for both commands.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './errors.js';

/** The flags a command takes, by long name (without `--`): whether each takes a value. */
export type FlagSpec = Readonly<Record<string, { type: 'string' | 'boolean'; short?: string }>>;

export interface Flag {
  /** The long name, without `--`. */
  name: string;
  /** As written, e.g. `--port` or `-h`. */
  flag: string;
  /** The value of a value flag, never empty; undefined for a boolean flag. */
  value: string | undefined;
}

/**
 * The flags of `argv` in the order given (a repeated flag appears again). A mistake throws a
 * UsageError when the reader reaches it, so the first one in the command line is the one reported.
 */
export function* parseFlags(argv: readonly string[], spec: FlagSpec): Generator<Flag, void, undefined> {
  const { tokens } = parseArgs({ args: [...argv], options: spec, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    const known = token.kind === 'option' ? spec[token.name] : undefined;
    if (token.kind !== 'option' || known === undefined || (known.type === 'boolean' && token.value !== undefined)) {
      throw new UsageError(`unknown option ${JSON.stringify(argv[token.index])}`);
    }
    const flag = `--${token.name}`;
    if (known.type === 'boolean') {
      yield { name: token.name, flag, value: undefined };
      continue;
    }
    const value = token.value;
    // A flag followed by another flag has no value (parseArgs would take the next flag as one).
    if (value === undefined || value === '' || (!token.inlineValue && value.startsWith('--'))) throw new UsageError(`${flag} needs a value`);
    yield { name: token.name, flag, value };
  }
}
