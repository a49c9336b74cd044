/** The one decode of stored JSON bytes and the one resourceVersion stamp. */
import { describe, expect, it } from 'vitest';
import { decodeJsonObject, parseJson, spliceResourceVersion, stampResourceVersion } from '../../src/encode/json-object.js';

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

describe('stamping the resourceVersion into JSON bytes (spliceResourceVersion)', () => {
  /** What re-encoding gives: the reference the splice must JSON.parse equal to. */
  function reencoded(text: string, revision: number): unknown {
    return stampResourceVersion(JSON.parse(text) as { metadata?: unknown }, revision);
  }

  function spliced(text: string, revision: number): string | undefined {
    return spliceResourceVersion(Buffer.from(text), revision)?.toString('utf8');
  }

  const cases: Array<[string, string]> = [
    ['compact, no resourceVersion', '{"kind":"Pod","metadata":{"name":"a","namespace":"ns"},"spec":{}}'],
    ['empty metadata', '{"metadata":{}}'],
    ['empty metadata with space inside', '{"metadata":{  }}'],
    ['whitespace everywhere', ' { "kind" : "Pod" ,\t"metadata" : { "name" : "a" } , "x" : [ 1 , 2 ] } '],
    ['an existing resourceVersion is replaced', '{"metadata":{"name":"a","resourceVersion":"41","uid":"u"}}'],
    ['an existing non-string resourceVersion is replaced', '{"metadata":{"resourceVersion":41}}'],
    ['escaped quotes in strings', '{"a\\"metadata":{"x":1},"b":"\\"metadata\\":{","metadata":{"name":"\\"q\\\\"}}'],
    ['a backslash at the end of a string', '{"s":"x\\\\","metadata":{"name":"a\\\\"}}'],
    ['keys named metadata and resourceVersion inside nested objects', '{"spec":{"metadata":{"resourceVersion":"1"}},"metadata":{"labels":{"resourceVersion":"x"}},"status":[{"metadata":{}}]}'],
    ['metadata first, nested values after', '{"metadata":{"name":"a"},"spec":{"containers":[{"name":"c","args":["{","}","[","]"]}]}}'],
    ['unicode', '{"metadata":{"name":"ñ-名前-😀","annotations":{"é":"\\u00e9\\ud83d\\ude00"}},"data":"ü"}'],
    ['a key written with escapes', '{"m\\u0065tadata":{"name":"a"}}'],
    ['numbers, booleans and null', '{"a":-1.5e+3,"b":true,"c":null,"metadata":{"generation":2,"deletionGracePeriodSeconds":null},"d":false}'],
    ['duplicate metadata keys: the last one counts, as for JSON.parse', '{"metadata":{"name":"first"},"metadata":{"name":"second"}}'],
    ['a later duplicate metadata written with an escape', '{"metadata":{"name":"first"},"spec":{},"m\\u0065tadata":{"name":"second"}}'],
    ['a later metadata that is not an object', '{"metadata":{"name":"first"},"metadata":{"name":"second"},"x":{"metadata":1}}'],
    ['duplicate resourceVersion keys', '{"metadata":{"resourceVersion":"1","name":"a","resourceVersion":"2"}}'],
  ];

  for (const [name, text] of cases) {
    it(`${name}: parses equal to the re-encoded stamp`, () => {
      const out = spliced(text, 1234);
      expect(out).toBeDefined();
      expect(JSON.parse(out!)).toEqual(reencoded(text, 1234));
    });
  }

  it('compact input comes out byte for byte as the re-encoded object', () => {
    for (const text of ['{"kind":"Pod","metadata":{"name":"a","namespace":"ns"},"spec":{}}', '{"metadata":{}}', '{"metadata":{"resourceVersion":"3","name":"a"}}']) {
      expect(spliced(text, 99)).toBe(JSON.stringify(reencoded(text, 99)));
    }
  });

  it('goes between a prefix and a suffix in one buffer', () => {
    const out = spliceResourceVersion(Buffer.from('{"metadata":{}}'), 5, Buffer.from('<'), Buffer.from('>\n'));
    expect(out?.toString()).toBe('<{"metadata":{"resourceVersion":"5"}}>\n');
  });

  it('reads only the view it is given', () => {
    const buffer = Buffer.from('xx{"metadata":{"name":"a"}}yy');
    expect(spliceResourceVersion(buffer.subarray(2, 27), 3)?.toString()).toBe('{"metadata":{"name":"a","resourceVersion":"3"}}');
  });

  it('declines (the caller re-encodes) when metadata is missing or not an object, or the bytes do not fit a one-line frame', () => {
    for (const text of [
      '{}',
      '{"kind":"Pod"}',
      '{"metadata":"x"}',
      '{"metadata":null}',
      '{"metadata":[1]}',
      '{"metadata":{},"metadata":3}', // the last one counts
      '[{"metadata":{}}]',
      '{"metadata":{\n"name":"a"}}', // spans lines
      '{"metadata":{}} x',
      '{"metadata":{"name":"a}}',
    ]) {
      expect(spliced(text, 1), text).toBeUndefined();
    }
    const invalidUtf8 = Buffer.concat([Buffer.from('{"metadata":{"name":"'), Buffer.from([0xff]), Buffer.from('"}}')]);
    expect(spliceResourceVersion(invalidUtf8, 1)).toBeUndefined();
  });

  it('bytes that are not JSON (a torn read) never throw, never hang and are never read past their end', () => {
    const text = Buffer.from('{"kind":"Pod","metadata":{"name":"a\\"b","m\\u0065tadata":{},"labels":{"x":"y"}},"spec":{"a":[1,{"b":"}"}]}}');
    const inside = Buffer.concat([text, Buffer.from('{"metadata":{}}')]);
    for (let cut = 0; cut <= text.length; cut++) {
      // A view that ends early inside a larger buffer: the bytes after it must not be read.
      expect(() => spliceResourceVersion(inside.subarray(0, cut), 1), `cut at ${cut}`).not.toThrow();
    }
    expect(JSON.parse(spliceResourceVersion(inside.subarray(0, text.length), 1)!.toString())).toEqual(reencoded(text.toString(), 1));
    expect(spliceResourceVersion(Buffer.from('{"metadata":{"\\x":1}}'), 1)?.toString()).toBe('{"metadata":{"\\x":1,"resourceVersion":"1"}}');
  });

  it('parses equal to the re-encoded stamp over many generated objects', () => {
    // A small deterministic generator (LCG): varied nesting, keys, escapes, unicode and whitespace.
    let seed = 12345;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed >>> 12) % n;
    };
    const strings = ['', 'a', 'metadata', 'resourceVersion', 'a"b', 'back\\slash', '{[}]', ',:', 'ñ名😀', '\u0000\u001f', 'tab\there'];
    const keys = ['metadata', 'resourceVersion', 'name', 'spec', 'x', 'a"metadata', 'm\u00e9ta'];
    const value = (depth: number): unknown => {
      switch (next(depth > 3 ? 4 : 6)) {
        case 0:
          return strings[next(strings.length)];
        case 1:
          return next(2) === 0 ? next(1000) - 500 : next(1000) / 7;
        case 2:
          return [true, false, null][next(3)];
        case 3:
          return strings[next(strings.length)];
        case 4:
          return Array.from({ length: next(4) }, () => value(depth + 1));
        default:
          return object(depth + 1);
      }
    };
    const object = (depth: number): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      for (let n = next(5); n > 0; n--) out[keys[next(keys.length)]!] = value(depth);
      return out;
    };
    const pretty = (text: string): string => text.replace(/([,:{}[\]])(?=(?:[^"\\]|\\.)*(?:"(?:[^"\\]|\\.)*"(?:[^"\\]|\\.)*)*$)/g, ' $1\t');
    let splicedCount = 0;
    for (let n = 0; n < 500; n++) {
      const top = object(0);
      if (next(4) !== 0) top.metadata = object(1);
      let text = JSON.stringify(top);
      if (next(3) === 0) text = pretty(text);
      expect(JSON.parse(text)).toEqual(top); // the generator's whitespace keeps it JSON
      const out = spliced(text, n + 1);
      if (out === undefined) {
        expect(isPlainObjectValue(top.metadata)).toBe(false);
        continue;
      }
      splicedCount++;
      expect(JSON.parse(out)).toEqual(reencoded(text, n + 1));
    }
    expect(splicedCount).toBeGreaterThan(200);
  });
});

function isPlainObjectValue(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
