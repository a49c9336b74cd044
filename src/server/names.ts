/**
 * Name rules of Kubernetes objects (the formats themselves are in src/validation.ts), path
 * segments, and generateName. Object names end up in storage keys, so a name is checked
 * before any key is built from it.
 */
import { randomInt } from 'node:crypto';
import { dns1035LabelErrors, dns1123LabelErrors, dns1123SubdomainErrors } from '../validation.js';

/**
 * The name function of a resource, as kube-apiserver's per-type ValidateXName: most use DNS-1123
 * subdomains; namespaces DNS-1123 labels; services DNS-1035 labels; `path-segment` only keeps a
 * name usable as one segment of a path (no `/`, `%`, `.` or `..`).
 */
export type NameRule = 'dns1123-subdomain' | 'dns1123-label' | 'dns1035-label' | 'path-segment';

/**
 * What is wrong with `name` under `rule`; empty when it is valid. A `prefix` is a generateName:
 * a trailing dash is allowed, as the random suffix follows it (apimachinery's maskTrailingDash).
 */
export function nameErrors(name: string, rule: NameRule, prefix = false): string[] {
  // Upstream replaces the last two characters by one 'a'; copied so the same prefixes pass.
  const checked = prefix && name.length > 1 && name.endsWith('-') ? `${name.slice(0, -2)}a` : name;
  switch (rule) {
    case 'dns1123-subdomain':
      return dns1123SubdomainErrors(checked);
    case 'dns1123-label':
      return dns1123LabelErrors(checked);
    case 'dns1035-label':
      return dns1035LabelErrors(checked);
    case 'path-segment': {
      // A prefix may be '.' or '..': the random suffix follows it.
      const problem = prefix && (name === '.' || name === '..') ? undefined : pathSegmentError(name);
      return problem === undefined ? [] : [problem];
    }
  }
}

export function isValidName(name: string, rule: NameRule): boolean {
  return nameErrors(name, rule).length === 0;
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
