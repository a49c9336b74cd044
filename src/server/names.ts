/**
 * Name rules of Kubernetes objects (apimachinery's validation.IsDNS1123Subdomain and friends),
 * with their messages, and generateName. Object names end up in storage keys, so a name is checked
 * before any key is built from it.
 */
import { randomInt } from 'node:crypto';

export type NameRule = 'dns1123-subdomain' | 'dns1123-label' | 'dns1035-label';

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const rules: Record<NameRule, { pattern: RegExp; max: number; message: string }> = {
  'dns1123-subdomain': {
    pattern: SUBDOMAIN,
    max: 253,
    message:
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
  },
  'dns1123-label': {
    pattern: LABEL_1123,
    max: 63,
    message:
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
  },
  'dns1035-label': {
    pattern: LABEL_1035,
    max: 63,
    message:
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
  },
};

/** What is wrong with `name` under `rule`; empty when it is valid. */
export function nameErrors(name: string, rule: NameRule): string[] {
  const { pattern, max, message } = rules[rule];
  const errors: string[] = [];
  if (name.length > max) errors.push(`must be no more than ${max} characters`);
  if (!pattern.test(name)) errors.push(message);
  return errors;
}

export function isValidName(name: string, rule: NameRule): boolean {
  return name.length <= rules[rule].max && rules[rule].pattern.test(name);
}

/**
 * apimachinery's IsValidPathSegmentName: what may appear as one segment of a URL path (and so of
 * a storage key). Anything else could address another key.
 */
export function pathSegmentError(segment: string): string | undefined {
  if (segment === '.' || segment === '..') return `may not be '${segment}'`;
  if (segment.includes('/')) return "may not contain '/'";
  if (segment.includes('%')) return "may not contain '%'";
  if (segment.includes('\0')) return 'may not contain NUL';
  return undefined;
}

/** kube-apiserver's generated-name alphabet: no vowels, so no words, and no look-alike 0/1/3. */
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const RANDOM_LENGTH = 5;
/** Base names are cut so a generated name still fits a 63-character label. */
const MAX_BASE = 63 - RANDOM_LENGTH;

export function generateName(base: string): string {
  let name = base.length > MAX_BASE ? base.slice(0, MAX_BASE) : base;
  for (let i = 0; i < RANDOM_LENGTH; i++) name += ALPHABET[randomInt(ALPHABET.length)];
  return name;
}
