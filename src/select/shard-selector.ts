/**
 * Server-side sharding (Kubernetes 1.36, KEP-5866): `shardSelector=shardRange(object.metadata.uid,
 * '0x0000000000000000', '0x8000000000000000')` selects the objects whose field hashes, with 64-bit
 * FNV-1a over the UTF-8 bytes of the field's value, into the half-open range [start, end).
 * Several ranges may be joined with `||`; all of them must hash the same field. The hash is the
 * same on every server instance, so replicas of a controller can split a resource between them.
 *
 * Hashes are kept as two unsigned 32-bit halves (numbers, not BigInt): the hash runs once per
 * object version, and comparing halves needs no allocation.
 */
import { SelectorError } from './selector-error.js';

/** The fields a shard selector may hash, as kube-apiserver names them (CEL paths). */
const SHARD_FIELDS = ['object.metadata.uid', 'object.metadata.namespace'] as const;
export type ShardField = 'uid' | 'namespace';

/** One `[start, end)` range; `end` of 2^64 (the top of the hash space) is `endTop`. */
export interface ShardRange {
  readonly startHi: number;
  readonly startLo: number;
  readonly endHi: number;
  readonly endLo: number;
  readonly endTop: boolean;
}

/** A parsed shard selector: plain data, so it crosses to dispatcher threads with the predicate. */
export interface ShardSelector {
  readonly field: ShardField;
  /** Any of them (the `||` of the ranges). */
  readonly ranges: readonly ShardRange[];
}

/** The hashes of one object version's shardable fields, computed once with its other attributes. */
export interface ShardHashes {
  readonly uidHi: number;
  readonly uidLo: number;
  readonly namespaceHi: number;
  readonly namespaceLo: number;
}

/**
 * 64-bit FNV-1a of the UTF-8 bytes of `text`, as [hi, lo] unsigned 32-bit halves, written into
 * `out` at `at`. The state is four 16-bit limbs so every product stays a small integer (no
 * BigInt, no doubles): the prime is 2^40 + 0x1b3, so one multiply is `h * 0x1b3 + (h << 40)`,
 * and h << 40 adds limb 0 and limb 1, shifted by 8, into limbs 2 and 3.
 */
function fnv1a64Into(text: string, out: number[], at: number): void {
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  let i = 0;
  let pending = -1;
  while (i < text.length || pending >= 0) {
    let b: number;
    if (pending >= 0) {
      b = pending & 0xff;
      pending = pending > 0xff ? pending >>> 8 : -1;
    } else {
      let c = text.charCodeAt(i++);
      if (c < 0x80) b = c;
      else {
        if (c >= 0xd800 && c <= 0xdbff && i < text.length) {
          const d = text.charCodeAt(i);
          if (d >= 0xdc00 && d <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            i++;
          }
        }
        // A lone surrogate is U+FFFD in UTF-8, as Go's []byte(string) conversion of invalid text.
        if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
        // The remaining bytes of the sequence, first one lowest.
        if (c < 0x800) {
          b = 0xc0 | (c >> 6);
          pending = 0x80 | (c & 0x3f);
        } else if (c < 0x10000) {
          b = 0xe0 | (c >> 12);
          pending = (0x80 | ((c >> 6) & 0x3f)) | ((0x80 | (c & 0x3f)) << 8);
        } else {
          b = 0xf0 | (c >> 18);
          pending = ((0x80 | ((c >> 12) & 0x3f)) | ((0x80 | ((c >> 6) & 0x3f)) << 8) | ((0x80 | (c & 0x3f)) << 16)) >>> 0;
        }
      }
    }
    h0 ^= b;
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + (h0 << 8) + (t1 >>> 16);
    h3 = (h3 * 0x1b3 + (h1 << 8) + (t2 >>> 16)) & 0xffff;
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
  }
  out[at] = ((h3 << 16) | h2) >>> 0;
  out[at + 1] = ((h1 << 16) | h0) >>> 0;
}

const scratch = [0, 0, 0, 0];

/** 64-bit FNV-1a of the UTF-8 bytes of `text`, as 16 lower-case hex digits (kube's HashField). */
export function fnv1a64Hex(text: string): string {
  fnv1a64Into(text, scratch, 0);
  return scratch[0]!.toString(16).padStart(8, '0') + scratch[1]!.toString(16).padStart(8, '0');
}

/** The shard hashes of an object version with this uid and namespace ("" when absent). */
export function shardHashes(uid: string, namespace: string): ShardHashes {
  fnv1a64Into(uid, scratch, 0);
  fnv1a64Into(namespace, scratch, 2);
  return { uidHi: scratch[0]!, uidLo: scratch[1]!, namespaceHi: scratch[2]!, namespaceLo: scratch[3]! };
}

function inRange(r: ShardRange, hi: number, lo: number): boolean {
  if (hi < r.startHi || (hi === r.startHi && lo < r.startLo)) return false;
  return r.endTop || hi < r.endHi || (hi === r.endHi && lo < r.endLo);
}

export function matchesShard(selector: ShardSelector, hashes: ShardHashes): boolean {
  const uid = selector.field === 'uid';
  const hi = uid ? hashes.uidHi : hashes.namespaceHi;
  const lo = uid ? hashes.uidLo : hashes.namespaceLo;
  for (const r of selector.ranges) if (inRange(r, hi, lo)) return true;
  return false;
}

function hex(hi: number, lo: number): string {
  return '0x' + hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/** The canonical text of a selector, what LIST echoes in `metadata.shardInfo.selector` (kube's Selector.String). */
export function formatShardSelector(selector: ShardSelector): string {
  const field = `object.metadata.${selector.field}`;
  return selector.ranges
    .map((r) => `shardRange(${field}, '${hex(r.startHi, r.startLo)}', '${r.endTop ? '0x10000000000000000' : hex(r.endHi, r.endLo)}')`)
    .join(' || ');
}

/** The shard selector of an empty request ("" or unset means none). */
export function parseShardSelector(text: string): ShardSelector | undefined {
  if (text.trim() === '') return undefined;
  return new Parser(text).selector();
}

const TOP = '0x10000000000000000';

/**
 * The subset of CEL that kube-apiserver accepts (it parses with cel-go and walks the syntax tree):
 * `shardRange(<path>, <string>, <string>)` calls joined by `||`, nothing else. Messages are
 * kube-apiserver's (k8s.io/apiserver/pkg/sharding.Parse) under kube's "invalid shard selector: "
 * prefix; where cel-go would report a syntax error, ours says what was expected where.
 */
class Parser {
  readonly #text: string;
  #at = 0;

  constructor(text: string) {
    this.#text = text;
  }

  selector(): ShardSelector {
    const ranges: ShardRange[] = [];
    let field: ShardField | undefined;
    for (;;) {
      const [f, range] = this.#call();
      if (field !== undefined && f !== field) {
        throw this.#fail(`all shard ranges must use the same field, got "object.metadata.${field}" and "object.metadata.${f}"`);
      }
      field = f;
      ranges.push(range);
      this.#space();
      if (this.#at === this.#text.length) break;
      if (this.#text.startsWith('||', this.#at)) {
        this.#at += 2;
        continue;
      }
      if (this.#text.startsWith('&&', this.#at)) throw this.#fail('unsupported function "_&&_"; only shardRange() and || are allowed');
      throw this.#fail(`CEL parse error: unexpected ${JSON.stringify(this.#text.slice(this.#at, this.#at + 10))} at position ${this.#at}`);
    }
    return { field: field!, ranges };
  }

  #call(): [ShardField, ShardRange] {
    this.#space();
    const name = this.#ident();
    if (name === '') {
      throw this.#fail(`CEL parse error: expected shardRange(...) at position ${this.#at}`);
    }
    this.#space();
    if (this.#text[this.#at] !== '(') {
      throw this.#fail(`unexpected expression ${JSON.stringify(name)}; expected shardRange() call or || operator`);
    }
    if (name !== 'shardRange') throw this.#fail(`unsupported function ${JSON.stringify(name)}; only shardRange() and || are allowed`);
    this.#at++;
    const args: { kind: 'path' | 'string' | 'other'; text: string }[] = [];
    this.#space();
    if (this.#text[this.#at] !== ')') {
      for (;;) {
        args.push(this.#argument());
        this.#space();
        const c = this.#text[this.#at];
        if (c === ',') {
          this.#at++;
          continue;
        }
        if (c === ')') break;
        throw this.#fail(`CEL parse error: expected ',' or ')' at position ${this.#at}`);
      }
    }
    this.#at++;
    if (args.length !== 3) throw this.#fail(`shardRange() requires exactly 3 arguments, got ${args.length}`);
    const [path, start, end] = args as [(typeof args)[0], (typeof args)[0], (typeof args)[0]];
    if (path.kind !== 'path') {
      throw this.#fail('shardRange() first argument: expected field path (e.g. object.metadata.uid), got a literal');
    }
    const field = path.text === SHARD_FIELDS[0] ? 'uid' : path.text === SHARD_FIELDS[1] ? 'namespace' : undefined;
    if (field === undefined) {
      throw this.#fail(`unsupported field path ${JSON.stringify(path.text)}; supported: ${SHARD_FIELDS.join(', ')}`);
    }
    const s = this.#bound(start, 'hexStart');
    const e = this.#bound(end, 'hexEnd');
    // Both are 16 digits (or the 17-digit top), so comparing the text compares the numbers.
    const less = s.length !== e.length ? s.length < e.length : s < e;
    if (!less) throw this.#fail(`shard range start ${s} must be less than end ${e}`);
    const endTop = e === TOP;
    return [
      field,
      {
        startHi: parseInt(s.slice(2, 10), 16),
        startLo: parseInt(s.slice(10, 18), 16),
        endHi: endTop ? 0 : parseInt(e.slice(2, 10), 16),
        endLo: endTop ? 0 : parseInt(e.slice(10, 18), 16),
        endTop,
      },
    ];
  }

  /** A field path (identifiers joined by dots), a quoted string, or something shardRange refuses. */
  #argument(): { kind: 'path' | 'string' | 'other'; text: string } {
    this.#space();
    const c = this.#text[this.#at];
    if (c === "'" || c === '"') {
      const close = this.#text.indexOf(c, this.#at + 1);
      const newline = this.#text.indexOf('\n', this.#at + 1);
      if (close < 0 || (newline >= 0 && newline < close)) throw this.#fail(`CEL parse error: unterminated string at position ${this.#at}`);
      const value = this.#text.slice(this.#at + 1, close);
      if (value.includes('\\')) throw this.#fail(`CEL parse error: escape sequences are not supported in shard bounds at position ${this.#at}`);
      this.#at = close + 1;
      return { kind: 'string', text: value };
    }
    const first = this.#ident();
    if (first === '') {
      const start = this.#at;
      while (this.#at < this.#text.length && !',)'.includes(this.#text[this.#at]!)) this.#at++;
      const text = this.#text.slice(start, this.#at).trim();
      if (text === '') throw this.#fail(`CEL parse error: expected an argument at position ${start}`);
      return { kind: 'other', text };
    }
    let path = first;
    for (;;) {
      this.#space();
      if (this.#text[this.#at] === '(') {
        throw this.#fail(`unsupported function ${JSON.stringify(path)}; only shardRange() and || are allowed`);
      }
      if (this.#text[this.#at] !== '.') break;
      this.#at++;
      this.#space();
      const next = this.#ident();
      if (next === '') throw this.#fail(`CEL parse error: expected a field name at position ${this.#at}`);
      path += '.' + next;
    }
    return { kind: 'path', text: path };
  }

  #bound(arg: { kind: string; text: string }, name: 'hexStart' | 'hexEnd'): string {
    if (arg.kind !== 'string') throw this.#fail(`${name} must be a string literal (e.g. '0xff'), got ${JSON.stringify(arg.text)}`);
    const s = arg.text;
    if (!s.startsWith('0x')) throw this.#fail(`${name} must have '0x' prefix, got ${JSON.stringify(s)}`);
    const digits = s.slice(2);
    if (digits === '') throw this.#fail(`${name}: hex value is required after '0x'`);
    if (digits.length > 17) throw this.#fail(`${name}: hex value too long (${digits.length} chars, max 17): ${JSON.stringify(digits)}`);
    const bad = /[^0-9a-f]/.exec(digits);
    if (bad !== null) throw this.#fail(`${name}: invalid hex character ${JSON.stringify(bad[0])} in ${JSON.stringify(s)}`);
    if (digits.length === 17) {
      if (s !== TOP) throw this.#fail(`${name}: 17-digit hex value must be '${TOP}' (2^64), got ${JSON.stringify(s)}`);
    } else if (digits.length !== 16) {
      const padded = '0x' + digits.padStart(16, '0');
      throw this.#fail(`${name} must be a 0x-prefixed 16-digit hex value, got ${JSON.stringify(s)} (did you mean ${JSON.stringify(padded)}?)`);
    }
    return s;
  }

  #ident(): string {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.#text.slice(this.#at, this.#at + 256));
    if (m === null) return '';
    this.#at += m[0].length;
    return m[0];
  }

  #space(): void {
    while (this.#at < this.#text.length && /\s/.test(this.#text[this.#at]!)) this.#at++;
  }

  #fail(message: string): SelectorError {
    return new SelectorError('shard', this.#text, `invalid shard selector: ${message}`, this.#at);
  }
}

/** The range of shard `index` of `count` equal shards of the hash space, as kube's examples write them. */
export function shardRangeText(field: ShardField, index: number, count: number): string {
  const bound = (i: number): string => {
    if (i === count) return TOP;
    const v = (BigInt(i) << 64n) / BigInt(count);
    return '0x' + v.toString(16).padStart(16, '0');
  };
  return `shardRange(object.metadata.${field}, '${bound(index)}', '${bound(index + 1)}')`;
}
