import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { EVERYTHING_FIELDS } from '../../src/select/field-selector.js';
import { EVERYTHING_LABELS } from '../../src/select/label-selector.js';
import { AttributeReader, matches, selectsEverything, type Predicate } from '../../src/select/predicate.js';
import { SelectorError } from '../../src/select/selector-error.js';
import {
  fnv1a64Hex,
  formatShardSelector,
  matchesShard,
  parseShardSelector,
  shardHashes,
  shardRangeText,
  type ShardSelector,
} from '../../src/select/shard-selector.js';
import { partitionOf } from '../../src/dispatch/partitions.js';
import { referenceFnv as fnv } from '../helpers/shards.js';

const referenceFnv = (text: string): string => fnv(text).toString(16).padStart(16, '0');

function parse(text: string): ShardSelector {
  const selector = parseShardSelector(text);
  if (selector === undefined) throw new Error('expected a selector');
  return selector;
}

function parseError(text: string): SelectorError {
  try {
    parseShardSelector(text);
  } catch (err) {
    if (err instanceof SelectorError) return err;
    throw err;
  }
  throw new Error(`${text} parsed`);
}

const UID = 'object.metadata.uid';

describe('FNV-1a 64 over the UTF-8 bytes of the field (kube HashField)', () => {
  it('gives the published test vectors', () => {
    expect(fnv1a64Hex('')).toBe('cbf29ce484222325');
    expect(fnv1a64Hex('a')).toBe('af63dc4c8601ec8c');
    expect(fnv1a64Hex('foobar')).toBe('85944171f73967e8');
  });

  it('equals the BigInt definition on uids, namespaces and non-ASCII text', () => {
    const inputs = ['default', 'kube-system', 'é', '名前空間', '😀-emoji', 'a\u0000b', '\ud800 lone', '\udc00'];
    for (let i = 0; i < 200; i++) inputs.push(randomUUID());
    for (let i = 0; i < 50; i++) {
      inputs.push(Array.from({ length: 1 + (i % 13) }, (_, j) => String.fromCodePoint(((i * 7919 + j * 104729) % 0x2ffff) + 1)).join(''));
    }
    for (const text of inputs) expect(fnv1a64Hex(text), JSON.stringify(text)).toBe(referenceFnv(text));
  });

  it('hashes uid and namespace of an object version once, with its other attributes', () => {
    const uid = randomUUID();
    const attrs = new AttributeReader([]).read({ metadata: { name: 'a', namespace: 'ns', uid } });
    const hex = (hi: number, lo: number): string => hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
    expect(hex(attrs.shard.uidHi, attrs.shard.uidLo)).toBe(referenceFnv(uid));
    expect(hex(attrs.shard.namespaceHi, attrs.shard.namespaceLo)).toBe(referenceFnv('ns'));
  });
});

describe('shardSelector syntax (kube-apiserver sharding.Parse)', () => {
  it('reads one range, with or without spaces, and prints it canonically', () => {
    for (const text of [
      "shardRange(object.metadata.uid, '0x0000000000000000', '0x8000000000000000')",
      "shardRange(object.metadata.uid,'0x0000000000000000','0x8000000000000000')",
      "  shardRange( object.metadata.uid ,  '0x0000000000000000' ,  '0x8000000000000000' )  ",
      'shardRange(object.metadata.uid, "0x0000000000000000", "0x8000000000000000")',
    ]) {
      expect(formatShardSelector(parse(text))).toBe("shardRange(object.metadata.uid, '0x0000000000000000', '0x8000000000000000')");
    }
  });

  it('round-trips ranges joined by ||, the namespace field and the 2^64 top', () => {
    for (const text of [
      "shardRange(object.metadata.uid, '0x8000000000000000', '0x10000000000000000')",
      "shardRange(object.metadata.uid, '0x0000000000000000', '0x10000000000000000')",
      "shardRange(object.metadata.namespace, '0x00000000000000aa', '0x00000000000000ff')",
      "shardRange(object.metadata.uid, '0x0000000000000000', '0x4000000000000000') || shardRange(object.metadata.uid, '0x8000000000000000', '0xc000000000000000')",
    ]) {
      expect(formatShardSelector(parse(text))).toBe(text);
    }
    expect(parse("shardRange(object.metadata.namespace, '0x00000000000000aa', '0x00000000000000ff')").field).toBe('namespace');
  });

  it('an empty selector is no selector', () => {
    expect(parseShardSelector('')).toBeUndefined();
    expect(parseShardSelector('   ')).toBeUndefined();
  });

  const refused: Array<[string, string, string]> = [
    ['missing 0x prefix', "shardRange(object.metadata.uid, '0000000000000000', '0x8000000000000000')", `hexStart must have '0x' prefix, got "0000000000000000"`],
    ['missing 0x prefix on end', "shardRange(object.metadata.uid, '0x0000000000000000', '8000000000000000')", `hexEnd must have '0x' prefix, got "8000000000000000"`],
    ['nothing after 0x', "shardRange(object.metadata.uid, '0x', '0x8000000000000000')", "hexStart: hex value is required after '0x'"],
    ['a short bound', "shardRange(object.metadata.uid, '0x0', '0x8000000000000000')", `hexStart must be a 0x-prefixed 16-digit hex value, got "0x0" (did you mean "0x0000000000000000"?)`],
    ['a short end', "shardRange(object.metadata.uid, '0x0000000000000000', '0xff')", `hexEnd must be a 0x-prefixed 16-digit hex value, got "0xff" (did you mean "0x00000000000000ff"?)`],
    ['18 hex digits', "shardRange(object.metadata.uid, '0x000000000000000000', '0x8000000000000000')", 'hexStart: hex value too long (18 chars, max 17): "000000000000000000"'],
    ['17 digits other than 2^64', "shardRange(object.metadata.uid, '0x0000000000000000', '0x10000000000000001')", `hexEnd: 17-digit hex value must be '0x10000000000000000' (2^64), got "0x10000000000000001"`],
    ['upper-case hex', "shardRange(object.metadata.uid, '0x000000000000000A', '0x8000000000000000')", 'hexStart: invalid hex character "A" in "0x000000000000000A"'],
    ['a non-hex character', "shardRange(object.metadata.uid, '0x0g00000000000000', '0x8000000000000000')", 'hexStart: invalid hex character "g" in "0x0g00000000000000"'],
    ['start equal to end', "shardRange(object.metadata.uid, '0x8000000000000000', '0x8000000000000000')", 'shard range start 0x8000000000000000 must be less than end 0x8000000000000000'],
    ['start above end', "shardRange(object.metadata.uid, '0xffffffffffffffff', '0x0000000000000000')", 'shard range start 0xffffffffffffffff must be less than end 0x0000000000000000'],
    ['metadata.name', "shardRange(object.metadata.name, '0x0000000000000000', '0x8000000000000000')", 'unsupported field path "object.metadata.name"; supported: object.metadata.uid, object.metadata.namespace'],
    ['the fieldSelector path form', "shardRange(metadata.uid, '0x0000000000000000', '0x8000000000000000')", 'unsupported field path "metadata.uid"; supported: object.metadata.uid, object.metadata.namespace'],
    ['another function', "invalidFunc(object.metadata.uid, '0x00', '0x80')", 'unsupported function "invalidFunc"; only shardRange() and || are allowed'],
    ['&&', "shardRange(object.metadata.uid, '0x0000000000000000', '0x8000000000000000') && shardRange(object.metadata.uid, '0x8000000000000000', '0x10000000000000000')", 'unsupported function "_&&_"; only shardRange() and || are allowed'],
    ['integer bounds', 'shardRange(object.metadata.uid, 0, 8)', 'hexStart must be a string literal (e.g. \'0xff\'), got "0"'],
    ['two arguments', "shardRange(object.metadata.uid, '0x0000000000000000')", 'shardRange() requires exactly 3 arguments, got 2'],
    ['a nested call', "shardRange(object.metadata.uid, hex(0), '0x8000000000000000')", 'unsupported function "hex"; only shardRange() and || are allowed'],
    ['mixed fields', `shardRange(${UID}, '0x0000000000000000', '0x8000000000000000') || shardRange(object.metadata.namespace, '0x8000000000000000', '0x10000000000000000')`, 'all shard ranges must use the same field, got "object.metadata.uid" and "object.metadata.namespace"'],
  ];

  it.each(refused)('refuses %s with 400 and kube-apiserver’s message', (_name, text, message) => {
    const err = parseError(text);
    expect(err.message).toBe(`invalid shard selector: ${message}`);
    expect(err.code).toBe(ErrorCodes.BAD_REQUEST);
    expect(err.kind).toBe('shard');
  });

  it('refuses what is no call at all, and trailing text', () => {
    for (const text of ["object.metadata.uid > '0x0'", "shardRange(object.metadata.uid, '0x0000000000000000', '0x8000000000000000') x", 'shardRange(', "'0x0'"]) {
      expect(parseError(text).code).toBe(ErrorCodes.BAD_REQUEST);
    }
  });
});

describe('shard ranges partition the hash space', () => {
  const uids = Array.from({ length: 2000 }, () => randomUUID());
  const hashes = uids.map((uid) => shardHashes(uid, ''));

  it.each([1, 2, 3, 4, 7, 16])('the %i equal shards are disjoint and cover every uid', (count) => {
    const selectors = Array.from({ length: count }, (_, i) => parse(shardRangeText('uid', i, count)));
    for (const h of hashes) expect(selectors.filter((s) => matchesShard(s, h))).toHaveLength(1);
  });

  it('a range holds exactly the hashes in [start, end) by the 64-bit value', () => {
    const selector = parse(shardRangeText('uid', 1, 3));
    const start = (1n << 64n) / 3n;
    const end = (2n << 64n) / 3n;
    for (const uid of uids) {
      const h = BigInt('0x' + referenceFnv(uid));
      expect(matchesShard(selector, shardHashes(uid, ''))).toBe(h >= start && h < end);
    }
  });

  it('the bounds themselves: start is in, end is out', () => {
    const h = shardHashes('foobar', ''); // 0x85944171f73967e8
    expect(matchesShard(parse(`shardRange(${UID}, '0x85944171f73967e8', '0x85944171f73967e9')`), h)).toBe(true);
    expect(matchesShard(parse(`shardRange(${UID}, '0x85944171f73967e7', '0x85944171f73967e8')`), h)).toBe(false);
    expect(matchesShard(parse(`shardRange(${UID}, '0x85944171f73967e9', '0x10000000000000000')`), h)).toBe(false);
  });

  it('|| is the union of its ranges', () => {
    const a = parse(shardRangeText('uid', 0, 4));
    const c = parse(shardRangeText('uid', 2, 4));
    const both = parse(`${shardRangeText('uid', 0, 4)} || ${shardRangeText('uid', 2, 4)}`);
    for (const h of hashes) expect(matchesShard(both, h)).toBe(matchesShard(a, h) || matchesShard(c, h));
  });
});

describe('the shard condition in a predicate', () => {
  const reader = new AttributeReader([]);
  const base: Predicate = { label: EVERYTHING_LABELS, field: EVERYTHING_FIELDS };

  it('makes a predicate select less than everything', () => {
    expect(selectsEverything({ ...base, shard: parse(shardRangeText('uid', 0, 1)) })).toBe(false);
  });

  it('combines with the other conditions (all must hold)', () => {
    // FNV-1a spreads the last byte weakly into the high bits (ns0, ns1, … share a shard): real names.
    const names = ['default', 'kube-system', 'kube-public', 'prod', 'staging', 'dev', 'monitoring'];
    const objects = Array.from({ length: 400 }, (_, i) => reader.read({ metadata: { name: `o${i}`, namespace: names[i % names.length], uid: randomUUID() } }));
    const shard = parse(shardRangeText('namespace', 0, 2));
    const inShard = objects.filter((o) => matches({ ...base, shard }, o));
    expect(inShard.length).toBeGreaterThan(0);
    expect(inShard.length).toBeLessThan(objects.length);
    // Namespace-keyed: a namespace is wholly in or wholly out.
    const namespaces = new Set(inShard.map((o) => o.namespace));
    for (const o of objects) expect(matches({ ...base, shard }, o)).toBe(namespaces.has(o.namespace));
    const ns = [...namespaces][0]!;
    expect(objects.filter((o) => matches({ ...base, shard, namespace: ns }, o))).toEqual(objects.filter((o) => o.namespace === ns));
  });
});

describe('shard-ranged watchers spread over dispatcher partitions', () => {
  it.each([2, 4, 8])('the %i shards of an even split land on as many dispatchers', (count) => {
    for (const threads of [count, 2 * count]) {
      const dispatchers = new Set(Array.from({ length: count }, (_, i) => partitionOf(undefined, 1, parse(shardRangeText('uid', i, count))) % threads));
      expect(dispatchers.size).toBe(count);
    }
  });

  it('a trigger value still decides the partition', () => {
    const shard = parse(shardRangeText('uid', 1, 2));
    expect(partitionOf('node-1', 7, shard)).toBe(partitionOf('node-1', 8));
  });
});
