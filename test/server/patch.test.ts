import { describe, expect, it } from 'vitest';
import { jsonPatch, mergePatch, MAX_JSON_PATCH_OPERATIONS } from '../../src/server/patch.js';
import { codeOf } from '../helpers/errors.js';

describe('patches', () => {
  it('merge patch (RFC 7386 examples)', () => {
    expect(mergePatch({ a: 'b' }, { a: 'c' })).toEqual({ a: 'c' });
    expect(mergePatch({ a: 'b' }, { b: 'c' })).toEqual({ a: 'b', b: 'c' });
    expect(mergePatch({ a: 'b' }, { a: null })).toEqual({});
    expect(mergePatch({ a: ['b'] }, { a: 'c' })).toEqual({ a: 'c' });
    expect(mergePatch({ a: { b: 'c' } }, { a: { b: 'd', c: null } })).toEqual({ a: { b: 'd' } });
    expect(mergePatch({ a: [{ b: 'c' }] }, { a: [1] })).toEqual({ a: [1] });
    expect(mergePatch({}, { a: { bb: { ccc: null } } })).toEqual({ a: { bb: {} } });
  });

  it('a __proto__ key stays an own property and never reaches a prototype', () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}, "metadata": {"__proto__": {"x": 1}}}');
    const out = mergePatch({ metadata: {} }, patch) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(out))).toEqual(patch);
    const viaJsonPatch = jsonPatch({}, [{ op: 'add', path: '/__proto__', value: { polluted: true } }]) as Record<string, unknown>;
    expect(Object.getPrototypeOf(viaJsonPatch)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('JSON patch: move, copy, escaped pointers; it leaves the input alone', () => {
    const doc = { a: { 'b/c': 1, 'd~e': 2 }, list: [1, 2, 3] };
    const out = jsonPatch(doc, [
      { op: 'copy', from: '/a/b~1c', path: '/copied' },
      { op: 'move', from: '/a/d~0e', path: '/moved' },
      { op: 'remove', path: '/list/1' },
      { op: 'add', path: '/list/0', value: 0 },
    ]);
    expect(out).toEqual({ a: { 'b/c': 1 }, list: [0, 1, 3], copied: 1, moved: 2 });
    expect(doc).toEqual({ a: { 'b/c': 1, 'd~e': 2 }, list: [1, 2, 3] });
  });

  it('JSON patch errors: malformed ops are 400, ops that cannot apply are 422', () => {
    expect(codeOf(() => jsonPatch({}, {}))).toBe('WC_ERR_BAD_REQUEST');
    expect(codeOf(() => jsonPatch({}, [{ op: 'add', path: 'no-slash', value: 1 }]))).toBe('WC_ERR_BAD_REQUEST');
    expect(codeOf(() => jsonPatch({}, [{ op: 'add', path: '/x' }]))).toBe('WC_ERR_BAD_REQUEST');
    expect(codeOf(() => jsonPatch({}, [{ op: 'remove', path: '/missing' }]))).toBe('WC_ERR_INVALID_OBJECT');
    expect(codeOf(() => jsonPatch({ l: [] }, [{ op: 'replace', path: '/l/0', value: 1 }]))).toBe('WC_ERR_INVALID_OBJECT');
    expect(codeOf(() => jsonPatch({ a: { b: 1 } }, [{ op: 'move', from: '/a', path: '/a/b/c' }]))).toBe('WC_ERR_INVALID_OBJECT');
    expect(codeOf(() => jsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }]))).toBe('WC_ERR_INVALID_OBJECT');
  });

  describe('bounded work', () => {
    /** `{"a":{"a":...}}`, `depth` objects deep, built without recursion. */
    const chain = (depth: number, leaf: unknown = 1): unknown => {
      let value = leaf;
      for (let i = 0; i < depth; i++) value = { a: value };
      return value;
    };

    it('a copy bomb (each copy doubles an array) stops with 422 at the copy budget', () => {
      const bomb = Array.from({ length: 36 }, () => ({ op: 'copy', from: '/spec/b', path: '/spec/b/-' }));
      expect(codeOf(() => jsonPatch({ spec: { b: [] } }, bomb))).toBe('WC_ERR_INVALID_OBJECT');
      expect(() => jsonPatch({ spec: { b: [] } }, bomb)).toThrow(/copy operations add more than 1572864 bytes/);
    });

    it('the copy budget counts what all copies add, and refuses a copy before making it', () => {
      const doc = { s: 'x'.repeat(1000) };
      const copy = (to: string): unknown => ({ op: 'copy', from: '/s', path: to });
      expect(jsonPatch(doc, [copy('/t')], { maxObjectBytes: 1e9, maxCopyBytes: 1002 })).toEqual({ s: doc.s, t: doc.s });
      expect(codeOf(() => jsonPatch(doc, [copy('/t')], { maxObjectBytes: 1e9, maxCopyBytes: 1001 }))).toBe('WC_ERR_INVALID_OBJECT');
      expect(codeOf(() => jsonPatch(doc, [copy('/t'), copy('/u')], { maxObjectBytes: 1e9, maxCopyBytes: 2003 }))).toBe('WC_ERR_INVALID_OBJECT');
      // Moves and adds are not copies: their size is bounded by the document and the body.
      expect(jsonPatch(doc, [{ op: 'move', from: '/s', path: '/t' }], { maxObjectBytes: 1e9, maxCopyBytes: 1 })).toEqual({ t: doc.s });
    });

    it('the working document stops at the first operation that makes it larger than the object limit (413)', () => {
      const limits = { maxObjectBytes: 5000, maxCopyBytes: 1e9 };
      const add = (path: string, n: number): unknown => ({ op: 'add', path, value: 'x'.repeat(n) });
      expect(jsonPatch({}, [add('/a', 2000), add('/b', 2000)], limits)).toMatchObject({ a: expect.any(String), b: expect.any(String) });
      const over = [add('/a', 2000), add('/b', 2000), add('/c', 2000), { op: 'test', path: '/zzz', value: 1 }];
      expect(codeOf(() => jsonPatch({}, over, limits))).toBe('WC_ERR_REQUEST_TOO_LARGE');
      // It stopped at the third add: the failing test after it was never reached (that would be 422).
      expect(() => jsonPatch({}, over, limits)).toThrow(/grows past 5000 bytes/);
      const copyOver = [add('/a', 3000), { op: 'copy', from: '/a', path: '/b' }];
      expect(codeOf(() => jsonPatch({}, copyOver, limits))).toBe('WC_ERR_REQUEST_TOO_LARGE');
    });

    it('what an operation removes or replaces is given back: a patch that churns below the limit applies', () => {
      const limits = { maxObjectBytes: 5000, maxCopyBytes: 1e9 };
      const big = (c: string): string => c.repeat(3000);
      const doc = { a: big('a') };
      expect(jsonPatch(doc, [{ op: 'replace', path: '/a', value: big('b') }, { op: 'replace', path: '/a', value: big('c') }], limits)).toEqual({ a: big('c') });
      expect(jsonPatch(doc, [{ op: 'remove', path: '/a' }, { op: 'add', path: '/b', value: big('b') }], limits)).toEqual({ b: big('b') });
      // `add` onto an existing member replaces it (RFC 6902), and a move displaces its target.
      expect(jsonPatch(doc, [{ op: 'add', path: '/a', value: big('d') }], limits)).toEqual({ a: big('d') });
      expect(jsonPatch({ a: big('a'), b: big('b').slice(0, 1500) }, [{ op: 'move', from: '/b', path: '/a' }, { op: 'add', path: '/c', value: big('c') }], limits)).toEqual({
        a: big('b').slice(0, 1500),
        c: big('c'),
      });
      expect(jsonPatch({ l: [big('a')] }, [{ op: 'replace', path: '/l/0', value: big('b') }], limits)).toEqual({ l: [big('b')] });
    });

    it(`more than ${MAX_JSON_PATCH_OPERATIONS} operations are 413 before any applies`, () => {
      const ops = Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => ({ op: 'test', path: '/a', value: 1 }));
      expect(codeOf(() => jsonPatch({ a: 1 }, ops))).toBe('WC_ERR_REQUEST_TOO_LARGE');
      expect(jsonPatch({ a: 1 }, ops.slice(1))).toEqual({ a: 1 });
    });

    it('nothing recurses: documents and patches 100 000 levels deep neither overflow the stack nor change the input', () => {
      const deep = chain(100_000);
      const doc = { deep };
      const copied = jsonPatch(doc, [{ op: 'copy', from: '/deep', path: '/again' }, { op: 'test', path: '/again', value: chain(100_000) }]) as Record<string, unknown>;
      // (Plain comparisons: vitest's own matchers recurse into what they are given.)
      expect(copied.again === deep).toBe(false);
      expect(codeOf(() => jsonPatch(doc, [{ op: 'test', path: '/deep', value: chain(100_000, 2) }]))).toBe('WC_ERR_INVALID_OBJECT');
      const merged = mergePatch(doc, { deep: chain(100_000, null), x: chain(100_000) }) as Record<string, unknown>;
      let node = merged.deep as Record<string, unknown>;
      for (let i = 1; i < 100_000; i++) node = node.a as Record<string, unknown>;
      expect(node).toEqual({});
      expect(doc.deep === deep).toBe(true);
    });

    it('merge patch values are copies: applying it again starts from the same patch', () => {
      const patch = { spec: { list: [{ a: 1 }] } };
      const out = mergePatch({}, patch) as { spec: { list: Array<{ a: number }> } };
      out.spec.list[0]!.a = 2;
      expect(patch.spec.list[0]!.a).toBe(1);
    });
  });
});

