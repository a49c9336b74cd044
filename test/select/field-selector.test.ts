import { describe, expect, it } from 'vitest';
import { seededRandom as rng } from '../helpers/random.js';
import { ErrorCodes } from '../../src/errors.js';
import {
  BASE_SELECTABLE_FIELDS,
  escapeFieldValue,
  derivedField,
  fieldExtractor,
  matchesFields,
  parseFieldSelector,
  requiredFieldValue,
  selectableFields,
  type Fields,
} from '../../src/select/field-selector.js';
import { SelectorError } from '../../src/select/selector-error.js';
import { POD_SELECTABLE_FIELDS } from '../../src/server/registry.js';

const POD = POD_SELECTABLE_FIELDS;
const parse = (text: string) => parseFieldSelector(text, POD);
const sel = (text: string, fields: Fields): boolean => matchesFields(parse(text), fields);

function parseError(text: string, allowed: Iterable<string> = POD): SelectorError {
  try {
    parseFieldSelector(text, allowed);
  } catch (err) {
    expect(err).toBeInstanceOf(SelectorError);
    return err as SelectorError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

const pod: Fields = {
  'metadata.name': 'web-1',
  'metadata.namespace': 'default',
  'spec.nodeName': 'node-1',
  'status.phase': 'Running',
};

describe('field selector: the empty selector', () => {
  it('the empty string selects everything', () => {
    expect(parse('').requirements).toEqual([]);
    expect(sel('', {})).toBe(true);
  });

  it('empty terms are skipped, so a lone comma selects everything too', () => {
    expect(parse(',').requirements).toEqual([]);
    expect(parse('metadata.name=a,,status.phase=b,')).toEqual(parse('metadata.name=a,status.phase=b'));
  });
});

describe('field selector: operators', () => {
  it('= matches the exact value', () => {
    expect(parse('spec.nodeName=node-1').requirements).toEqual([{ field: 'spec.nodeName', op: '=', value: 'node-1' }]);
    expect(sel('spec.nodeName=node-1', pod)).toBe(true);
    expect(sel('spec.nodeName=node-2', pod)).toBe(false);
  });

  it('== means the same as =', () => {
    expect(parse('spec.nodeName==node-1')).toEqual(parse('spec.nodeName=node-1'));
  });

  it('!= matches any other value', () => {
    expect(sel('status.phase!=Succeeded', pod)).toBe(true);
    expect(sel('status.phase!=Running', pod)).toBe(false);
  });

  it('a field missing from the object counts as the empty string', () => {
    expect(sel('spec.nodeName=', {})).toBe(true);
    expect(sel('spec.nodeName!=', {})).toBe(false);
    expect(sel('spec.nodeName=node-1', {})).toBe(false);
    expect(sel('spec.nodeName!=node-1', {})).toBe(true);
  });

  it('spec.nodeName!= selects scheduled pods and spec.nodeName= unscheduled ones', () => {
    expect(sel('spec.nodeName!=', pod)).toBe(true);
    expect(sel('spec.nodeName=', { ...pod, 'spec.nodeName': '' })).toBe(true);
  });

  it('comma-separated terms must all hold', () => {
    const s = 'metadata.namespace=default,status.phase!=Failed,spec.nodeName=node-1';
    expect(sel(s, pod)).toBe(true);
    expect(sel(s, { ...pod, 'status.phase': 'Failed' })).toBe(false);
    expect(sel(s, { ...pod, 'metadata.namespace': 'kube-system' })).toBe(false);
  });

  it('the first operator in a term splits field from value, != before = at the same place', () => {
    expect(parse('metadata.name!=a').requirements[0]).toEqual({ field: 'metadata.name', op: '!=', value: 'a' });
    expect(parse('metadata.name=!a').requirements[0]).toEqual({ field: 'metadata.name', op: '=', value: '!a' });
  });

  it('blanks are not trimmed: they belong to the field or the value', () => {
    expect(parse('metadata.name= a').requirements[0]?.value).toBe(' a');
    expect(parseError('metadata.name =a').message).toBe('field label not supported: metadata.name ');
  });

  it('fields named like Object.prototype members are not inherited', () => {
    const s = parseFieldSelector('constructor=', ['constructor']);
    expect(matchesFields(s, {})).toBe(true);
  });
});

describe('field selector: escaping', () => {
  it('\\, in a value is a comma, not a term separator', () => {
    expect(parse('metadata.name=a\\,b').requirements).toEqual([{ field: 'metadata.name', op: '=', value: 'a,b' }]);
    expect(sel('metadata.name=a\\,b', { 'metadata.name': 'a,b' })).toBe(true);
  });

  it('\\= and \\\\ in a value are = and \\', () => {
    expect(parse('metadata.name=a\\=b\\\\c').requirements[0]?.value).toBe('a=b\\c');
  });

  it('\\! is accepted as !, though ! never needs escaping', () => {
    expect(parse('metadata.name=a\\!b').requirements[0]?.value).toBe('a!b');
    expect(parse('metadata.name=a!b').requirements[0]?.value).toBe('a!b');
  });

  it('an unescaped = in a value is an error that says how to write it', () => {
    const err = parseError('metadata.name=a=b');
    expect(err.message).toBe(
      `invalid field selector: unescaped character in value: '=' (write it as \\=) (at offset 15)`,
    );
    expect(err.offset).toBe(15);
    expect(parseError('metadata.name==a=b').offset).toBe(16);
  });

  it('an unknown escape sequence is an error', () => {
    const err = parseError('metadata.name=a\\nb');
    expect(err.message).toBe(
      `invalid field selector: invalid escape sequence: \\n (only \\\\, \\, and \\= are allowed) (at offset 15)`,
    );
    expect(parseError('metadata.name=\\😀').message).toContain('invalid escape sequence: \\😀');
  });

  it('a value ending in a lone backslash is an error', () => {
    expect(parseError('metadata.name=a\\').message).toBe(
      `invalid field selector: invalid escape sequence: \\ at end of value (at offset 15)`,
    );
  });

  it('escapeFieldValue escapes \\ , = exactly as Kubernetes, and leaves ! alone', () => {
    expect(escapeFieldValue('plain')).toBe('plain');
    expect(escapeFieldValue('a,b=c\\d!e')).toBe('a\\,b\\=c\\\\d!e');
  });

  it('the parser reads an escaped value back as the value: it inverts escapeFieldValue', () => {
    for (const v of ['', 'x', ',', '=', '\\', 'a,b=c\\d', '\\\\,,==', '!=', 'é😀']) {
      expect(parse(`metadata.name=${escapeFieldValue(v)}`).requirements, v).toEqual([{ field: 'metadata.name', op: '=', value: v }]);
    }
  });

  it('a value with an unescaped `=` is refused with the coded error', () => {
    expect(parseError('metadata.name=a=b').code).toBe(ErrorCodes.BAD_REQUEST);
  });
});

describe('field selector: errors', () => {
  it('an unknown field is refused with the Kubernetes message', () => {
    const err = parseError('spec.foo=bar');
    expect(err.message).toBe('field label not supported: spec.foo');
    expect(err.code).toBe(ErrorCodes.BAD_REQUEST);
    expect(err.kind).toBe('field');
  });

  it('points at the term with the unknown field', () => {
    expect(parseError('metadata.name=a,spec.foo=bar').offset).toBe(16);
  });

  it('an empty field name is unknown too', () => {
    expect(parseError('=x').message).toBe('field label not supported: ');
  });

  it('metadata.name and metadata.namespace are selectable on every resource', () => {
    expect(() => parseFieldSelector('metadata.name=a,metadata.namespace=b', [])).not.toThrow();
    expect(parseError('spec.nodeName=a', []).message).toBe('field label not supported: spec.nodeName');
  });

  it('accepts the allowed fields as a Set too', () => {
    expect(parseFieldSelector('spec.x=1', new Set(['spec.x'])).requirements).toHaveLength(1);
  });

  it('a term without an operator is refused, naming the term and where it is', () => {
    const err = parseError('metadata.name=a,status.phase');
    expect(err.message).toBe(
      `invalid selector: 'metadata.name=a,status.phase'; can't understand 'status.phase' (expected field=value, field==value or field!=value) (at offset 16)`,
    );
    expect(err.offset).toBe(16);
  });

  it('syntax errors are reported before unsupported fields', () => {
    expect(parseError('spec.foo=x,metadata.name').message).toMatch(/^invalid selector: /);
  });

  it('the error carries the selector it rejected', () => {
    expect(parseError('spec.foo=x').selector).toBe('spec.foo=x');
  });
});

describe('field selector: requiredFieldValue (index trigger pinning)', () => {
  it('returns the value an = term pins', () => {
    expect(requiredFieldValue(parse('spec.nodeName=node-1'), 'spec.nodeName')).toBe('node-1');
    expect(requiredFieldValue(parse('status.phase!=Failed,spec.nodeName==node-1'), 'spec.nodeName')).toBe('node-1');
  });

  it('returns the empty string for a pinned empty value, which is not the same as no pin', () => {
    expect(requiredFieldValue(parse('spec.nodeName='), 'spec.nodeName')).toBe('');
  });

  it('returns undefined when the field is not pinned', () => {
    expect(requiredFieldValue(parse('spec.nodeName!=node-1'), 'spec.nodeName')).toBeUndefined();
    expect(requiredFieldValue(parse('metadata.name=a'), 'spec.nodeName')).toBeUndefined();
    expect(requiredFieldValue(parse(''), 'spec.nodeName')).toBeUndefined();
  });

  it('returns the unescaped value', () => {
    expect(requiredFieldValue(parse('spec.nodeName=a\\,b'), 'spec.nodeName')).toBe('a,b');
  });
});

describe('field selector: selectable fields', () => {
  it('every resource gets metadata.name and metadata.namespace', () => {
    expect(BASE_SELECTABLE_FIELDS).toEqual(['metadata.name', 'metadata.namespace']);
    expect(selectableFields(['spec.type', 'metadata.name'])).toEqual(['metadata.name', 'metadata.namespace', 'spec.type']);
  });

  it('pods can be selected by node and phase', () => {
    for (const f of ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'status.phase']) {
      expect(POD_SELECTABLE_FIELDS).toContain(f);
    }
  });
});

describe('field selector: extracting field values from an object', () => {
  const object = {
    metadata: { name: 'web-1', namespace: 'default', generation: 3 },
    spec: { nodeName: 'node-1', hostNetwork: true, containers: [{ name: 'c' }] },
    status: { phase: 'Running', conditions: null },
  };

  it('reads dotted paths into a flat record of strings', () => {
    expect({ ...fieldExtractor(['metadata.name', 'spec.nodeName', 'status.phase'])(object) }).toEqual({
      'metadata.name': 'web-1',
      'spec.nodeName': 'node-1',
      'status.phase': 'Running',
    });
  });

  it('a missing field yields the empty string', () => {
    expect({ ...fieldExtractor(['spec.schedulerName', 'nope.deeper.still', 'metadata.name.x'])(object) }).toEqual({
      'spec.schedulerName': '',
      'nope.deeper.still': '',
      'metadata.name.x': '',
    });
    expect({ ...fieldExtractor(['metadata.name'])(null) }).toEqual({ 'metadata.name': '' });
    // Derived fields: read from another path, with kube's value for an unset integer.
    const job = { status: { succeeded: 3 } };
    const specs = [derivedField('status.successful', 'status.succeeded', '0'), derivedField('status.active', 'status.active', '0')];
    expect({ ...fieldExtractor(specs)(job) }).toEqual({ 'status.successful': '3', 'status.active': '0' });
    expect(parseFieldSelector('status.successful=3', specs).requirements).toEqual([{ field: 'status.successful', op: '=', value: '3' }]);
    expect(() => parseFieldSelector('status.succeeded=3', specs)).toThrow(/field label not supported: status.succeeded/);
  });

  it('numbers and booleans are written as in JSON; objects, arrays and null yield ""', () => {
    expect({ ...fieldExtractor(['metadata.generation', 'spec.hostNetwork', 'spec', 'spec.containers', 'status.conditions'])(object) }).toEqual({
      'metadata.generation': '3',
      'spec.hostNetwork': 'true',
      spec: '',
      'spec.containers': '',
      'status.conditions': '',
    });
  });

  it('array elements can be reached by index', () => {
    expect(fieldExtractor(['spec.containers.0.name'])(object)['spec.containers.0.name']).toBe('c');
  });

  it('paths never reach inherited properties', () => {
    const fields = fieldExtractor(['metadata.constructor', 'metadata.__proto__', 'metadata.toString'])(object);
    expect(Object.values(fields)).toEqual(['', '', '']);
  });

  it('a compiled extractor gives what a field selector matches against, also after structuredClone', () => {
    const extract = fieldExtractor(POD_SELECTABLE_FIELDS);
    const fields = structuredClone(extract(object));
    expect(matchesFields(parse('spec.nodeName=node-1,metadata.namespace=default'), fields)).toBe(true);
    expect(matchesFields(parse('spec.schedulerName='), fields)).toBe(true);
  });
});

describe('field selector: plain data', () => {
  it('survives structuredClone (postMessage) and matches the same afterwards', () => {
    const parsed = parse('spec.nodeName=node-1,status.phase!=Failed');
    const copy = structuredClone(parsed);
    expect(copy).toEqual(parsed);
    expect(matchesFields(copy, pod)).toBe(true);
  });
});

describe('field selector: fuzz', () => {
  const pieces = [
    'metadata.name', 'spec.nodeName', 'spec.foo', 'x', '=', '==', '!=', '!', ',', '\\', '\\,', '\\=', '\\\\',
    ' ', 'a', 'é', '😀', '',
  ];
  const fieldSets: Fields[] = [{}, pod, { 'metadata.name': 'x', 'spec.nodeName': '' }];

  it('any input either parses into a selector that matches without throwing, or throws a coded SelectorError', () => {
    const random = rng(0xf1e1d);
    let parsed = 0;
    for (let n = 0; n < 3000; n++) {
      const count = Math.floor(random() * 7);
      let text = '';
      for (let i = 0; i < count; i++) text += pieces[Math.floor(random() * pieces.length)];
      let selector;
      try {
        selector = parse(text);
      } catch (err) {
        expect(err, JSON.stringify(text)).toBeInstanceOf(SelectorError);
        const e = err as SelectorError;
        expect(e.code).toBe(ErrorCodes.BAD_REQUEST);
        expect(e.offset).toBeGreaterThanOrEqual(0);
        expect(e.offset).toBeLessThanOrEqual(text.length);
        continue;
      }
      parsed++;
      for (const fields of fieldSets) expect(typeof matchesFields(selector, fields), JSON.stringify(text)).toBe('boolean');
    }
    expect(parsed).toBeGreaterThan(100);
    expect(parsed).toBeLessThan(3000);
  });
});
