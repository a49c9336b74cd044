/**
 * Kubernetes label selectors (the `labelSelector` query parameter), with the grammar, validation
 * and matching semantics of k8s.io/apimachinery/pkg/labels:
 *
 *   selector    ::= "" | requirement ("," requirement)*
 *   requirement ::= ["!"] KEY
 *                 | KEY ("=" | "==" | "!=" | ">" | "<") [VALUE]
 *                 | KEY ("in" | "notin") "(" [VALUE] ("," [VALUE])* ")"
 *
 * A parsed selector is plain data (arrays of plain objects), so it can be posted to a worker as
 * is; every operation on it is a free function.
 */
import { labelValueErrors, qualifiedNameErrors } from '../validation.js';
import { SelectorError } from './selector-error.js';

/** `==` parses to `=`: Kubernetes treats them identically when matching. */
export type LabelOperator = '=' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

export interface LabelRequirement {
  readonly key: string;
  readonly op: LabelOperator;
  /**
   * Empty for `exists` and `!`; exactly one value for `=`, `!=`, `gt`, `lt` (for `gt`/`lt` a
   * decimal int64 without sign); one or more, sorted and without duplicates, for `in`/`notin`.
   * The empty string is a legitimate value.
   */
  readonly values: readonly string[];
}

/** All requirements must hold. No requirements: matches every object. */
export interface LabelSelector {
  readonly requirements: readonly LabelRequirement[];
}

export type Labels = Readonly<Record<string, string>>;

/** The selector that matches everything (what the empty string parses to). */
export const EVERYTHING_LABELS: LabelSelector = Object.freeze({ requirements: Object.freeze([]) });

// ---------------------------------------------------------------------------------------------
// int64 comparison for gt/lt, without allocating

const INT64_MAX = '9223372036854775807';
const INT64_MIN_MAGNITUDE = '9223372036854775808';

/**
 * Compare `text`, read the way Go's strconv.ParseInt(text, 10, 64) reads it (optional sign,
 * decimal digits, within int64), with `bound`, a string of decimal digits. Returns a negative
 * number, 0 or a positive number; NaN when `text` is not an int64, so both `>` and `<` fail
 * as they do in Kubernetes. Digit strings are compared directly because int64 does not fit in
 * a double and a BigInt per match would allocate on the hot path.
 */
function compareInt64(text: string, bound: string): number {
  const n = text.length;
  let i = 0;
  let negative = false;
  const first = text.charCodeAt(0);
  if (first === 43 /* + */ || first === 45 /* - */) {
    negative = first === 45;
    i = 1;
  }
  if (i >= n) return NaN;
  for (let j = i; j < n; j++) {
    const c = text.charCodeAt(j);
    if (c < 48 || c > 57) return NaN;
  }
  while (i < n - 1 && text.charCodeAt(i) === 48) i++;
  const len = n - i;
  if (len > 19) return NaN;
  if (len === 19) {
    const limit = negative ? INT64_MIN_MAGNITUDE : INT64_MAX;
    for (let k = 0; k < 19; k++) {
      const d = text.charCodeAt(i + k) - limit.charCodeAt(k);
      if (d < 0) break;
      if (d > 0) return NaN;
    }
  }
  const isZero = len === 1 && text.charCodeAt(i) === 48;
  if (negative && !isZero) return -1;

  let b = 0;
  while (b < bound.length - 1 && bound.charCodeAt(b) === 48) b++;
  const boundLen = bound.length - b;
  if (len !== boundLen) return len - boundLen;
  for (let k = 0; k < len; k++) {
    const d = text.charCodeAt(i + k) - bound.charCodeAt(b + k);
    if (d !== 0) return d;
  }
  return 0;
}

function isInt64(text: string): boolean {
  return !Number.isNaN(compareInt64(text, '0'));
}

// ---------------------------------------------------------------------------------------------
// Lexer

type TokenKind = 'ident' | 'in' | 'notin' | '(' | ')' | ',' | '!' | '=' | '==' | '!=' | '>' | '<' | 'end';

interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly offset: number;
}

/** Only these four count as blanks in Kubernetes; any other space-like character is data. */
function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

function isSymbol(c: number): boolean {
  // = ! ( ) , > <
  return c === 61 || c === 33 || c === 40 || c === 41 || c === 44 || c === 62 || c === 60;
}

/**
 * Kubernetes scans symbols greedily, and the only two-character symbols are `!=` and `==`; so
 * `a=!b` is `=` then `!`, and `a<=1` is `<` then `=`. A NUL byte ends the input in Kubernetes'
 * lexer; here it is an ordinary character and fails key/value validation instead, which is the
 * less surprising of the two for a query parameter.
 */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const n = text.length;
  let i = 0;
  for (;;) {
    while (i < n && isBlank(text.charCodeAt(i))) i++;
    if (i >= n) {
      tokens.push({ kind: 'end', text: '', offset: n });
      return tokens;
    }
    const c = text.charCodeAt(i);
    if (isSymbol(c)) {
      if ((c === 33 || c === 61) && text.charCodeAt(i + 1) === 61) {
        const sym = c === 33 ? '!=' : '==';
        tokens.push({ kind: sym, text: sym, offset: i });
        i += 2;
      } else {
        const sym = text[i] as TokenKind;
        tokens.push({ kind: sym, text: sym, offset: i });
        i += 1;
      }
      continue;
    }
    const start = i;
    while (i < n) {
      const d = text.charCodeAt(i);
      if (isBlank(d) || isSymbol(d)) break;
      i++;
    }
    const word = text.slice(start, i);
    const kind: TokenKind = word === 'in' ? 'in' : word === 'notin' ? 'notin' : 'ident';
    tokens.push({ kind, text: word, offset: start });
  }
}

/** Where a key or value is expected, the words `in` and `notin` are plain identifiers. */
function isWord(t: Token): boolean {
  return t.kind === 'ident' || t.kind === 'in' || t.kind === 'notin';
}

function show(t: Token): string {
  return t.kind === 'end' ? 'end of string' : `'${t.text}'`;
}

// ---------------------------------------------------------------------------------------------
// Parser

interface ValueAt {
  readonly value: string;
  readonly offset: number;
}

const REQUIREMENT = 'unable to parse requirement: ';

class LabelParser {
  readonly #text: string;
  readonly #tokens: Token[];
  #pos = 0;

  constructor(text: string) {
    this.#text = text;
    this.#tokens = tokenize(text);
  }

  parse(): LabelRequirement[] {
    const requirements: LabelRequirement[] = [];
    const first = this.#peek();
    if (first.kind === 'end') return requirements;
    if (!isWord(first) && first.kind !== '!') {
      this.#fail(first, `found ${show(first)}, expected: !, identifier, or 'end of string'`);
    }
    for (;;) {
      requirements.push(this.#requirement());
      const sep = this.#next();
      if (sep.kind === 'end') return requirements;
      if (sep.kind !== ',') this.#fail(sep, `found ${show(sep)}, expected: ',' or 'end of string'`);
      const after = this.#peek();
      if (!isWord(after) && after.kind !== '!') {
        this.#fail(after, `found ${show(after)}, expected: identifier after ','`);
      }
    }
  }

  #requirement(): LabelRequirement {
    let keyTok = this.#next();
    const negated = keyTok.kind === '!';
    if (negated) keyTok = this.#next();
    if (!isWord(keyTok)) this.#fail(keyTok, `${REQUIREMENT}found ${show(keyTok)}, expected: identifier`);
    const key = keyTok.text;
    const keyErrors = qualifiedNameErrors(key);
    if (keyErrors.length > 0) {
      this.#fail(keyTok, `${REQUIREMENT}invalid label key "${key}": ${keyErrors.join('; ')}`);
    }

    // A negated key takes no operator. Whatever follows it is left for the caller, which then
    // reports "expected: ',' or 'end of string'" exactly where Kubernetes does.
    const after = this.#peek();
    if (negated) return { key, op: '!', values: [] };
    if (after.kind === 'end' || after.kind === ',') return { key, op: 'exists', values: [] };

    const opTok = this.#next();
    let op: LabelOperator;
    let values: ValueAt[];
    switch (opTok.kind) {
      case 'in':
      case 'notin':
        op = opTok.kind;
        values = this.#valueSet();
        break;
      case '=':
      case '==':
        op = '=';
        values = [this.#exactValue()];
        break;
      case '!=':
        op = '!=';
        values = [this.#exactValue()];
        break;
      case '>':
        op = 'gt';
        values = [this.#exactValue()];
        break;
      case '<':
        op = 'lt';
        values = [this.#exactValue()];
        break;
      default:
        this.#fail(opTok, `${REQUIREMENT}found ${show(opTok)}, expected: in, notin, =, ==, !=, >, <`);
    }

    // Values are checked once the requirement is syntactically whole, as Kubernetes does, so a
    // structural mistake later in the same requirement is reported first.
    for (const { value, offset } of values) {
      if ((op === 'gt' || op === 'lt') && !isInt64(value)) {
        this.#failAt(
          offset,
          `${REQUIREMENT}invalid value "${value}" for key "${key}": for 'gt', 'lt' operators, the value must be an integer`,
        );
      }
      const valueErrors = labelValueErrors(value);
      if (valueErrors.length > 0) {
        this.#failAt(offset, `${REQUIREMENT}invalid label value "${value}" for key "${key}": ${valueErrors.join('; ')}`);
      }
    }

    return { key, op, values: uniqueSorted(values.map((v) => v.value)) };
  }

  /** After `=`, `!=`, `>` or `<`: a word, or nothing (the empty value) before `,` or the end. */
  #exactValue(): ValueAt {
    const t = this.#peek();
    if (t.kind === 'end' || t.kind === ',') return { value: '', offset: t.offset };
    this.#pos++;
    if (!isWord(t)) this.#fail(t, `${REQUIREMENT}found ${show(t)}, expected: identifier`);
    return { value: t.text, offset: t.offset };
  }

  /**
   * `( v1, v2, ... )` where any value may be empty: `()` is the set {""}, `(a,)` is {"", "a"},
   * as in Kubernetes.
   */
  #valueSet(): ValueAt[] {
    const open = this.#next();
    if (open.kind !== '(') this.#fail(open, `${REQUIREMENT}found ${show(open)}, expected: '('`);
    const values: ValueAt[] = [];
    let expectValue = true;
    for (;;) {
      const t = this.#next();
      if (expectValue) {
        if (isWord(t)) {
          values.push({ value: t.text, offset: t.offset });
          expectValue = false;
          continue;
        }
        if (t.kind === ',' || t.kind === ')') {
          values.push({ value: '', offset: t.offset });
          if (t.kind === ')') return values;
          continue;
        }
        this.#fail(t, `${REQUIREMENT}found ${show(t)}, expected: ',', ')' or identifier`);
      }
      if (t.kind === ')') return values;
      if (t.kind === ',') {
        expectValue = true;
        continue;
      }
      this.#fail(t, `${REQUIREMENT}found ${show(t)}, expected: ',' or ')'`);
    }
  }

  #peek(): Token {
    return this.#tokens[this.#pos] as Token;
  }

  /** Never runs past the `end` token, so a parse error can always name what it found. */
  #next(): Token {
    const t = this.#tokens[this.#pos] as Token;
    if (t.kind !== 'end') this.#pos++;
    return t;
  }

  #fail(t: Token, message: string): never {
    this.#failAt(t.offset, message);
  }

  #failAt(offset: number, message: string): never {
    throw new SelectorError('label', this.#text, `${message} (at offset ${offset})`, offset);
  }
}

function uniqueSorted(values: readonly string[]): string[] {
  if (values.length === 1) return [values[0] as string];
  return [...new Set(values)].sort();
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * Parse a Kubernetes label selector. The empty (or all-blank) string selects everything.
 * Requirements come out sorted by key, as in Kubernetes. Throws SelectorError
 * (WC_ERR_BAD_SELECTOR) naming what was found, what was expected and the offset.
 */
export function parseLabelSelector(text: string): LabelSelector {
  const requirements = new LabelParser(text).parse();
  if (requirements.length === 0) return EVERYTHING_LABELS;
  // Array.prototype.sort is stable: requirements on one key keep the order they were written in.
  requirements.sort((a, b) => compareStrings(a.key, b.key));
  return { requirements };
}

function hasValue(values: readonly string[], value: string): boolean {
  for (let i = 0; i < values.length; i++) if (values[i] === value) return true;
  return false;
}

function requirementMatches(r: LabelRequirement, labels: Labels): boolean {
  const value = labels[r.key];
  // Object.prototype holds no strings, so a string here is the object's own label; this spares
  // the hot path an Object.hasOwn call and keeps keys like "constructor" correct.
  const present = typeof value === 'string';
  switch (r.op) {
    case '=':
      return present && value === r.values[0];
    case 'in':
      return present && hasValue(r.values, value);
    case '!=':
      return !present || value !== r.values[0];
    case 'notin':
      return !present || !hasValue(r.values, value);
    case 'exists':
      return present;
    case '!':
      return !present;
    case 'gt':
      return present && compareInt64(value, r.values[0] as string) > 0;
    case 'lt':
      return present && compareInt64(value, r.values[0] as string) < 0;
  }
}

/**
 * Whether `labels` satisfy every requirement. `!=` and `notin` match objects without the key.
 * Allocates nothing and runs no regular expression.
 */
export function matchesLabels(selector: LabelSelector, labels: Labels): boolean {
  const requirements = selector.requirements;
  for (let i = 0; i < requirements.length; i++) {
    if (!requirementMatches(requirements[i] as LabelRequirement, labels)) return false;
  }
  return true;
}

export function isEverythingLabels(selector: LabelSelector): boolean {
  return selector.requirements.length === 0;
}
