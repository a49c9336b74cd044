import { describe, expect, it } from 'vitest';
import { seededRandom as rng } from '../helpers/random.js';
import { ErrorCodes } from '../../src/errors.js';
import {
  matchesLabels,
  parseLabelSelector,
  type Labels,
} from '../../src/select/label-selector.js';
import { SelectorError } from '../../src/select/selector-error.js';

/** Whether `selector` (text) matches `labels`. */
const sel = (selector: string, labels: Labels): boolean => matchesLabels(parseLabelSelector(selector), labels);

/** Parse and return the SelectorError thrown, failing if none is. */
function parseError(text: string): SelectorError {
  try {
    parseLabelSelector(text);
  } catch (err) {
    expect(err).toBeInstanceOf(SelectorError);
    return err as SelectorError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe('label selector: the empty selector', () => {
  it('the empty string selects everything', () => {
    expect(parseLabelSelector('').requirements).toEqual([]);
    expect(sel('', {})).toBe(true);
    expect(sel('', { app: 'web' })).toBe(true);
  });

  it('a string of blanks selects everything', () => {
    expect(parseLabelSelector(' \t\r\n ').requirements).toEqual([]);
  });
});

describe('label selector: operators', () => {
  it('= matches the exact value only', () => {
    expect(sel('app=web', { app: 'web' })).toBe(true);
    expect(sel('app=web', { app: 'db' })).toBe(false);
    expect(sel('app=web', { app: 'web2' })).toBe(false);
  });

  it('= does not match objects without the key', () => {
    expect(sel('app=web', {})).toBe(false);
    expect(sel('app=web', { other: 'web' })).toBe(false);
  });

  it('== means the same as =', () => {
    expect(parseLabelSelector('app==web')).toEqual(parseLabelSelector('app=web'));
    expect(sel('app==web', { app: 'web' })).toBe(true);
  });

  it('= with nothing after it requires the empty value', () => {
    expect(parseLabelSelector('app=').requirements).toEqual([{ key: 'app', op: '=', values: [''] }]);
    expect(sel('app=', { app: '' })).toBe(true);
    expect(sel('app=', { app: 'x' })).toBe(false);
    expect(sel('app=', {})).toBe(false);
    expect(parseLabelSelector('app=,tier').requirements.map((r) => r.op)).toEqual(['=', 'exists']);
  });

  it('!= matches other values', () => {
    expect(sel('app!=web', { app: 'db' })).toBe(true);
    expect(sel('app!=web', { app: 'web' })).toBe(false);
  });

  it('!= matches objects without the key', () => {
    expect(sel('app!=web', {})).toBe(true);
  });

  it('in matches any of the listed values', () => {
    expect(sel('env in (prod,staging)', { env: 'prod' })).toBe(true);
    expect(sel('env in (prod,staging)', { env: 'staging' })).toBe(true);
    expect(sel('env in (prod,staging)', { env: 'dev' })).toBe(false);
  });

  it('in does not match objects without the key', () => {
    expect(sel('env in (prod)', {})).toBe(false);
  });

  it('notin matches values outside the list', () => {
    expect(sel('env notin (prod,staging)', { env: 'dev' })).toBe(true);
    expect(sel('env notin (prod,staging)', { env: 'prod' })).toBe(false);
  });

  it('notin matches objects without the key', () => {
    expect(sel('env notin (prod)', {})).toBe(true);
  });

  it('in () is the set holding only the empty value', () => {
    expect(parseLabelSelector('env in ()').requirements[0]?.values).toEqual(['']);
    expect(sel('env in ()', { env: '' })).toBe(true);
    expect(sel('env in ()', { env: 'x' })).toBe(false);
  });

  it('empty entries in a value list stand for the empty value', () => {
    expect(parseLabelSelector('env in (,a)').requirements[0]?.values).toEqual(['', 'a']);
    expect(parseLabelSelector('env in (a,)').requirements[0]?.values).toEqual(['', 'a']);
    expect(parseLabelSelector('env in (a,,b)').requirements[0]?.values).toEqual(['', 'a', 'b']);
    expect(parseLabelSelector('env in (,)').requirements[0]?.values).toEqual(['']);
  });

  it('value lists are sorted and deduplicated', () => {
    expect(parseLabelSelector('env in (b,a,b)').requirements[0]?.values).toEqual(['a', 'b']);
  });

  it('a bare key matches objects that have it, whatever the value', () => {
    expect(parseLabelSelector('app').requirements).toEqual([{ key: 'app', op: 'exists', values: [] }]);
    expect(sel('app', { app: 'web' })).toBe(true);
    expect(sel('app', { app: '' })).toBe(true);
    expect(sel('app', {})).toBe(false);
  });

  it('!key matches objects that do not have it', () => {
    expect(parseLabelSelector('!app').requirements).toEqual([{ key: 'app', op: '!', values: [] }]);
    expect(sel('!app', {})).toBe(true);
    expect(sel('!app', { app: '' })).toBe(false);
  });

  it('keys named like Object.prototype members are looked up as labels, not inherited', () => {
    expect(sel('constructor', {})).toBe(false);
    expect(sel('!toString', {})).toBe(true);
    expect(sel('hasOwnProperty!=x', {})).toBe(true);
    expect(sel('constructor=x', { constructor: 'x' })).toBe(true);
  });

  it('comma-separated requirements must all hold', () => {
    const s = 'app=web,env in (prod),!canary,tier';
    expect(sel(s, { app: 'web', env: 'prod', tier: 'fe' })).toBe(true);
    expect(sel(s, { app: 'web', env: 'prod', tier: 'fe', canary: 'y' })).toBe(false);
    expect(sel(s, { app: 'web', env: 'dev', tier: 'fe' })).toBe(false);
    expect(sel(s, { app: 'web', env: 'prod' })).toBe(false);
  });

  it('contradictory requirements on one key match nothing', () => {
    expect(sel('app=a,app=b', { app: 'a' })).toBe(false);
    expect(sel('app=a,app=b', { app: 'b' })).toBe(false);
  });
});

describe('label selector: gt and lt', () => {
  it('> and < compare as integers, not as strings', () => {
    expect(parseLabelSelector('n>5').requirements).toEqual([{ key: 'n', op: 'gt', values: ['5'] }]);
    expect(sel('n>9', { n: '10' })).toBe(true);
    expect(sel('n>10', { n: '9' })).toBe(false);
    expect(sel('n<10', { n: '9' })).toBe(true);
    expect(sel('n<9', { n: '10' })).toBe(false);
  });

  it('> and < are strict', () => {
    expect(sel('n>5', { n: '5' })).toBe(false);
    expect(sel('n<5', { n: '5' })).toBe(false);
  });

  it('gt and lt do not match objects without the key', () => {
    expect(sel('n>5', {})).toBe(false);
    expect(sel('n<5', {})).toBe(false);
  });

  it('gt and lt never match a label value that is not an int64', () => {
    for (const v of ['', 'x', '5x', '1.5', ' 5', '+', '-', '0x10', '1_000', '9223372036854775808']) {
      expect(sel('n>0', { n: v }), v).toBe(false);
      expect(sel('n<99999', { n: v }), v).toBe(false);
    }
  });

  it('label values are read like Go strconv.ParseInt: sign, leading zeros, int64 range', () => {
    expect(sel('n<1', { n: '-3' })).toBe(true);
    expect(sel('n>4', { n: '+5' })).toBe(true);
    expect(sel('n>6', { n: '007' })).toBe(true);
    expect(sel('n<1', { n: '-0' })).toBe(true);
    expect(sel('n>0', { n: '-0' })).toBe(false);
    expect(sel('n>9223372036854775806', { n: '9223372036854775807' })).toBe(true);
    expect(sel('n<0', { n: '-9223372036854775808' })).toBe(true);
    expect(sel('n<0', { n: '-9223372036854775809' })).toBe(false);
  });

  it('requirement values with leading zeros compare by their numeric value', () => {
    expect(sel('n>0009', { n: '10' })).toBe(true);
    expect(sel('n<000', { n: '0' })).toBe(false);
  });

  it('the value of > and < must be an integer', () => {
    expect(parseError('n>x').message).toBe(
      `unable to parse requirement: invalid value "x" for key "n": for 'gt', 'lt' operators, the value must be an integer (at offset 2)`,
    );
    expect(parseError('n<').message).toContain(`invalid value "" for key "n"`);
    expect(parseError('n>9223372036854775808').message).toContain('must be an integer');
    expect(parseLabelSelector('n>9223372036854775807').requirements[0]?.values).toEqual(['9223372036854775807']);
  });

  it('a negative bound is refused, since a label value cannot start with -', () => {
    expect(parseError('n>-1').message).toContain(`invalid label value "-1" for key "n"`);
  });

  it('>= and <= are not operators', () => {
    expect(parseError('n>=1').message).toBe(
      `unable to parse requirement: found '=', expected: identifier (at offset 2)`,
    );
    expect(parseError('n<=1').message).toBe(
      `unable to parse requirement: found '=', expected: identifier (at offset 2)`,
    );
  });
});

describe('label selector: whitespace', () => {
  it('spaces, tabs, CR and LF around tokens are ignored', () => {
    const spaced = ' app = web ,\tenv\nin\r( prod , dev ) , ! canary , n > 5 ';
    expect(parseLabelSelector(spaced)).toEqual(parseLabelSelector('app=web,env in (prod,dev),!canary,n>5'));
  });

  it('in needs no space before its parenthesis', () => {
    expect(parseLabelSelector('env in(a)')).toEqual(parseLabelSelector('env in (a)'));
    expect(parseLabelSelector('env notin(a)')).toEqual(parseLabelSelector('env notin (a)'));
  });

  it('a blank separates words, so two words in a row are an error', () => {
    expect(parseError('app web').message).toBe(
      `unable to parse requirement: found 'web', expected: in, notin, =, ==, !=, >, < (at offset 4)`,
    );
  });

  it('other space-like characters are not blanks: they end up in the key and fail validation', () => {
    expect(parseError('app\u00a0=web').message).toContain('invalid label key "app\u00a0"');
    expect(parseError('app\v=web').message).toContain('invalid label key');
  });
});

describe('label selector: in and notin as words', () => {
  it('in and notin are keys or values where a key or value is expected', () => {
    expect(parseLabelSelector('in in (in,notin)').requirements).toEqual([
      { key: 'in', op: 'in', values: ['in', 'notin'] },
    ]);
    expect(parseLabelSelector('notin').requirements).toEqual([{ key: 'notin', op: 'exists', values: [] }]);
    expect(parseLabelSelector('a=in').requirements).toEqual([{ key: 'a', op: '=', values: ['in'] }]);
    expect(parseLabelSelector('!in').requirements).toEqual([{ key: 'in', op: '!', values: [] }]);
  });

  it('words that merely start with in are plain identifiers', () => {
    expect(parseError('a inx (b)').message).toContain(`found 'inx', expected: in, notin`);
  });
});

// The key and value rules themselves are pinned in test/validation.test.ts.
describe('label selector: key and value validation', () => {
  it('accepts keys with an optional DNS subdomain prefix', () => {
    for (const key of ['a', 'A', '1', 'app', 'My.App-name_1', 'example.com/app', 'k8s.io/a', 'a-b.c/D_e', 'x'.repeat(63)]) {
      expect(parseLabelSelector(key).requirements[0]?.key).toBe(key);
    }
  });

  it('refuses a name part longer than 63 characters', () => {
    expect(parseError('x'.repeat(64)).message).toContain('name part must be no more than 63 characters');
  });

  it('names the invalid key, every problem of it, and where it starts', () => {
    const err = parseError('app=x, Bad_/k=v');
    expect(err.message).toBe(
      `unable to parse requirement: invalid label key "Bad_/k": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*') (at offset 7)`,
    );
    expect(err.offset).toBe(7);
    expect(parseError('/a=b').message).toBe(
      `unable to parse requirement: invalid label key "/a": prefix part must be non-empty (at offset 0)`,
    );
  });

  it('accepts values of up to 63 characters, and the empty value', () => {
    for (const value of ['', 'a', 'MyValue', 'my_value', '12345', 'a.b-c_d', 'v'.repeat(63)]) {
      expect(parseLabelSelector(`k=${value}`).requirements[0]?.values).toEqual([value]);
    }
  });

  it('names the invalid value, its key and where it is', () => {
    expect(parseError('tier in (ok, -bad)').message).toBe(
      `unable to parse requirement: invalid label value "-bad" for key "tier": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?') (at offset 13)`,
    );
    expect(parseError(`k=${'v'.repeat(64)}`).message).toContain('must be no more than 63 characters');
  });

  it('reports a syntax error in a requirement before a bad value in it', () => {
    expect(parseError('tier in (-bad').message).toContain(`found end of string, expected: ',' or ')'`);
  });
});

describe('label selector: syntax errors say what was found, what was expected and where', () => {
  const cases: [string, string][] = [
    [')', `found ')', expected: !, identifier, or 'end of string' (at offset 0)`],
    [',a', `found ',', expected: !, identifier, or 'end of string' (at offset 0)`],
    ['=a', `found '=', expected: !, identifier, or 'end of string' (at offset 0)`],
    ['!', `unable to parse requirement: found end of string, expected: identifier (at offset 1)`],
    ['!)', `unable to parse requirement: found ')', expected: identifier (at offset 1)`],
    ['!!a', `unable to parse requirement: found '!', expected: identifier (at offset 1)`],
    ['a=b,', `found end of string, expected: identifier after ',' (at offset 4)`],
    ['a,,b', `found ',', expected: identifier after ',' (at offset 2)`],
    ['a=b c', `found 'c', expected: ',' or 'end of string' (at offset 4)`],
    ['a=b)', `found ')', expected: ',' or 'end of string' (at offset 3)`],
    ['!a=b', `found '=', expected: ',' or 'end of string' (at offset 2)`],
    ['a (b)', `unable to parse requirement: found '(', expected: in, notin, =, ==, !=, >, < (at offset 2)`],
    ['a !', `unable to parse requirement: found '!', expected: in, notin, =, ==, !=, >, < (at offset 2)`],
    ['a=)', `unable to parse requirement: found ')', expected: identifier (at offset 2)`],
    ['a===b', `unable to parse requirement: found '=', expected: identifier (at offset 3)`],
    ['a=!b', `unable to parse requirement: found '!', expected: identifier (at offset 2)`],
    ['a in b', `unable to parse requirement: found 'b', expected: '(' (at offset 5)`],
    ['a in', `unable to parse requirement: found end of string, expected: '(' (at offset 4)`],
    ['a in (', `unable to parse requirement: found end of string, expected: ',', ')' or identifier (at offset 6)`],
    ['a in (b', `unable to parse requirement: found end of string, expected: ',' or ')' (at offset 7)`],
    ['a in (b c)', `unable to parse requirement: found 'c', expected: ',' or ')' (at offset 8)`],
    ['a in (b,!)', `unable to parse requirement: found '!', expected: ',', ')' or identifier (at offset 8)`],
    ['a in ((b))', `unable to parse requirement: found '(', expected: ',', ')' or identifier (at offset 6)`],
  ];
  for (const [input, message] of cases) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      const err = parseError(input);
      expect(err.message).toBe(message);
    });
  }

  it('the error carries the stable code, the selector and the offset', () => {
    const err = parseError('a in (b c)');
    expect(err.code).toBe(ErrorCodes.BAD_REQUEST);
    expect(err.name).toBe('SelectorError');
    expect(err.kind).toBe('label');
    expect(err.selector).toBe('a in (b c)');
    expect(err.offset).toBe(8);
  });
});

describe('label selector: plain data', () => {
  it('survives structuredClone (postMessage) and matches the same afterwards', () => {
    const parsed = parseLabelSelector('app=web,env notin (dev),n>3,!x');
    const copy = structuredClone(parsed);
    expect(copy).toEqual(parsed);
    const labels = { app: 'web', env: 'prod', n: '4' };
    expect(matchesLabels(copy, labels)).toBe(true);
  });
});

describe('label selector: fuzz', () => {
  const pieces = [
    'a', 'b', 'app', 'x.y/z', 'K', '5', '10', '-', '_', '.', '/', 'in', 'notin', ' in ', ' notin ',
    '=', '==', '!=', '!', '>', '<', '(', ')', ',', ' ', '\t', '\n', '\v', '\\', 'é', '😀', '\u0000', '',
  ];
  const labelSets: Labels[] = [{}, { a: '' }, { a: '5', b: 'x' }, { app: 'a', K: '10', 'x.y/z': 'b' }];

  it('any input either parses into a selector that matches without throwing, or throws a coded SelectorError', () => {
    const random = rng(0x5e1ec7);
    let parsed = 0;
    for (let n = 0; n < 3000; n++) {
      const count = Math.floor(random() * 9);
      let text = '';
      for (let i = 0; i < count; i++) text += pieces[Math.floor(random() * pieces.length)];
      let selector;
      try {
        selector = parseLabelSelector(text);
      } catch (err) {
        expect(err, JSON.stringify(text)).toBeInstanceOf(SelectorError);
        const e = err as SelectorError;
        expect(e.code).toBe(ErrorCodes.BAD_REQUEST);
        expect(e.offset).toBeGreaterThanOrEqual(0);
        expect(e.offset).toBeLessThanOrEqual(text.length);
        expect(e.message).toMatch(/\(at offset \d+\)$/);
        continue;
      }
      parsed++;
      for (const labels of labelSets) expect(typeof matchesLabels(selector, labels), JSON.stringify(text)).toBe('boolean');
    }
    // The generator should reach both outcomes, or the loop checks little.
    expect(parsed).toBeGreaterThan(100);
    expect(parsed).toBeLessThan(3000);
  });
});
