import { ErrorCodes, WatchCacheError } from '../errors.js';

/** Which selector language rejected the input, so a caller can name the offending query parameter. */
export type SelectorKind = 'label' | 'field' | 'shard';

/**
 * A selector that does not parse or selects on something unsupported. It carries
 * WC_ERR_BAD_REQUEST because that is what Kubernetes answers (400 BadRequest) and the HTTP layer
 * already maps it; in-process callers that need to single selectors out use `instanceof`.
 * `offset` is the 0-based index into `selector` where the problem starts; the message repeats it
 * because only code and message survive a thread crossing.
 */
export class SelectorError extends WatchCacheError {
  readonly kind: SelectorKind;
  readonly selector: string;
  readonly offset: number;

  constructor(kind: SelectorKind, selector: string, message: string, offset: number) {
    super(ErrorCodes.BAD_REQUEST, message);
    this.name = 'SelectorError';
    this.kind = kind;
    this.selector = selector;
    this.offset = offset;
  }
}

/**
 * The character at `index` for an error message, a surrogate pair shown whole so an emoji in a
 * selector is reported as itself rather than as half a code point.
 */
export function charAt(text: string, index: number): string {
  const cp = text.codePointAt(index);
  return cp === undefined ? '' : String.fromCodePoint(cp);
}
