/** The one decode of stored JSON bytes and the one resourceVersion stamp. */
import { describe, expect, it } from 'vitest';
import { decodeJsonObject, parseJson, stampResourceVersion } from '../../src/encode/json-object.js';

describe('stored JSON objects', () => {
  it('decodes a view into a larger buffer, reading only its bytes', () => {
    const buffer = Buffer.from('xx{"a":1}yy');
    expect(parseJson(buffer.subarray(2, 9))).toEqual({ a: 1 });
  });

  it('a stored value that is not an object reads as an empty object; bytes that are not JSON throw', () => {
    expect(decodeJsonObject(Buffer.from('[1,2]'))).toEqual({});
    expect(decodeJsonObject(Buffer.from('null'))).toEqual({});
    expect(() => parseJson(Buffer.from('{'))).toThrow(SyntaxError);
  });

  it('stamps metadata.resourceVersion in place, creating metadata when it is missing or not an object', () => {
    const object: { metadata?: unknown } = { metadata: { name: 'a', resourceVersion: '1' } };
    expect(stampResourceVersion(object, 7)).toBe(object);
    expect(object).toEqual({ metadata: { name: 'a', resourceVersion: '7' } });
    expect(stampResourceVersion({}, 8)).toEqual({ metadata: { resourceVersion: '8' } });
    expect(stampResourceVersion({ metadata: 'x' }, 9)).toEqual({ metadata: { resourceVersion: '9' } });
  });
});
