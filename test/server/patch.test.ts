import { describe, expect, it } from 'vitest';
import { checkSimpleStrategicPatch, jsonPatch, mergePatch } from '../../src/server/patch.js';

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
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (err) {
        return (err as { code?: string }).code;
      }
      return undefined;
    };
    expect(code(() => jsonPatch({}, {}))).toBe('WC_ERR_BAD_REQUEST');
    expect(code(() => jsonPatch({}, [{ op: 'add', path: 'no-slash', value: 1 }]))).toBe('WC_ERR_BAD_REQUEST');
    expect(code(() => jsonPatch({}, [{ op: 'add', path: '/x' }]))).toBe('WC_ERR_BAD_REQUEST');
    expect(code(() => jsonPatch({}, [{ op: 'remove', path: '/missing' }]))).toBe('WC_ERR_INVALID_OBJECT');
    expect(code(() => jsonPatch({ l: [] }, [{ op: 'replace', path: '/l/0', value: 1 }]))).toBe('WC_ERR_INVALID_OBJECT');
    expect(code(() => jsonPatch({ a: { b: 1 } }, [{ op: 'move', from: '/a', path: '/a/b/c' }]))).toBe('WC_ERR_INVALID_OBJECT');
    expect(code(() => jsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }]))).toBe('WC_ERR_INVALID_OBJECT');
  });

  it('strategic merge patches are accepted only where they mean a merge patch', () => {
    expect(() => checkSimpleStrategicPatch({ metadata: { labels: { a: 'b', c: null } } })).not.toThrow();
    expect(() => checkSimpleStrategicPatch({ spec: { containers: [] } })).toThrow(/with lists/);
    expect(() => checkSimpleStrategicPatch({ spec: { $retainKeys: ['a'] } })).toThrow(/\$retainKeys/);
  });
});
