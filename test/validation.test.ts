/**
 * The Kubernetes string formats answer as apimachinery's util/validation does, message for
 * message (kube 1.28 to 1.33 wording, which kubectl shows in 422 Invalid answers).
 */
import { describe, expect, it } from 'vitest';
import {
  byteLength,
  dns1035LabelErrors,
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  labelValueErrors,
  qualifiedNameErrors,
} from '../src/validation.js';

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const NAME_PART_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

describe('qualified names (label and annotation keys)', () => {
  it.each([
    'a',
    'A',
    '1',
    'app',
    'My.App-name_1',
    'x'.repeat(63),
    'example.com/app',
    'app.kubernetes.io/name',
    'kubernetes.io/hostname',
    'node-role.kubernetes.io/control-plane',
    'kubectl.kubernetes.io/last-applied-configuration',
    `${'a'.repeat(253)}/x`,
  ])('accepts %s', (key) => {
    expect(qualifiedNameErrors(key)).toEqual([]);
  });

  it.each<[string, string[]]>([
    ['a b', [NAME_PART_MSG]],
    ['-a', [NAME_PART_MSG]],
    ['a.', [NAME_PART_MSG]],
    ['é', [NAME_PART_MSG]],
    ['', ['name part must be non-empty', NAME_PART_MSG]],
    ['x'.repeat(64), ['name part must be no more than 63 characters']],
    ['/a', ['prefix part must be non-empty']],
    ['a/', ['name part must be non-empty', NAME_PART_MSG]],
    ['Example.com/a', [`prefix part ${SUBDOMAIN_MSG}`]],
    ['a..b/a', [`prefix part ${SUBDOMAIN_MSG}`]],
    [`${'a'.repeat(254)}/x`, ['prefix part must be no more than 253 characters']],
    [`/${'-'.repeat(64)}`, ['prefix part must be non-empty', 'name part must be no more than 63 characters', NAME_PART_MSG]],
  ])('refuses %j', (key, errors) => {
    expect(qualifiedNameErrors(key)).toEqual(errors);
  });

  it('refuses more than one slash with one message', () => {
    expect(qualifiedNameErrors('a/b/c')).toEqual([
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ]);
  });
});

describe('label values', () => {
  it.each(['', 'a', 'MyValue', 'my_value', '12345', 'a.b-c_d', 'v'.repeat(63)])('accepts %j', (value) => {
    expect(labelValueErrors(value)).toEqual([]);
  });

  it.each<[string, string[]]>([
    ['v'.repeat(64), ['must be no more than 63 characters']],
    ['a/b', [VALUE_MSG]],
    ['a b', [VALUE_MSG]],
    ['-a', [VALUE_MSG]],
    ['_a', [VALUE_MSG]],
    ['é', [VALUE_MSG]],
    [`-${'v'.repeat(63)}`, ['must be no more than 63 characters', VALUE_MSG]],
  ])('refuses %j', (value, errors) => {
    expect(labelValueErrors(value)).toEqual(errors);
  });

  it('counts bytes, as Go does', () => {
    expect(labelValueErrors('é'.repeat(32))).toContain('must be no more than 63 characters');
    expect(byteLength('é')).toBe(2);
    expect(byteLength('abc')).toBe(3);
  });
});

describe('DNS names', () => {
  it('DNS-1123 subdomains: lowercase labels joined by dots, at most 253 characters', () => {
    for (const ok of ['a', 'web-1', 'a.b.c', '0', 'x'.repeat(253)]) expect(dns1123SubdomainErrors(ok), ok).toEqual([]);
    for (const bad of ['', 'A', 'a_b', 'a..b', '.a', 'a.', '-a', 'a-', 'a/b']) expect(dns1123SubdomainErrors(bad), bad).toEqual([SUBDOMAIN_MSG]);
    expect(dns1123SubdomainErrors('x'.repeat(254))).toEqual(['must be no more than 253 characters']);
  });

  it('DNS-1123 labels: no dots (said so when it is a subdomain), at most 63 characters', () => {
    for (const ok of ['a', 'web-1', '1abc', 'x'.repeat(63)]) expect(dns1123LabelErrors(ok), ok).toEqual([]);
    expect(dns1123LabelErrors('a.b')).toEqual(['must not contain dots']);
    expect(dns1123LabelErrors('A')).toEqual([LABEL_MSG]);
    expect(dns1123LabelErrors('x'.repeat(64))).toEqual(['must be no more than 63 characters']);
  });

  it('DNS-1035 labels: start with a letter', () => {
    for (const ok of ['a', 'web-1', 'x'.repeat(63)]) expect(dns1035LabelErrors(ok), ok).toEqual([]);
    for (const bad of ['1abc', 'a.b', 'A', 'a-', '']) expect(dns1035LabelErrors(bad), bad).toEqual([DNS1035_MSG]);
    expect(dns1035LabelErrors('x'.repeat(64))).toEqual(['must be no more than 63 characters']);
  });
});
