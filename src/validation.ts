/**
 * The string formats of Kubernetes (k8s.io/apimachinery/pkg/util/validation), each answering
 * with the messages kube-apiserver gives: DNS-1123 subdomains and labels, DNS-1035 labels,
 * qualified names (label and annotation keys) and label values. One implementation for the HTTP
 * front (object names and metadata) and the selectors (the keys and values they name).
 *
 * Lengths are in bytes, as Go's len(). Characters are checked by hand, so a check is linear and
 * runs no regular expression; the regular expressions below are only quoted in messages.
 */

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1035_LABEL_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?';
const QUALIFIED_NAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;

const DNS1123_LABEL_MAX = 63;
const DNS1123_SUBDOMAIN_MAX = 253;
const QUALIFIED_NAME_MAX = 63;
const LABEL_VALUE_MAX = 63;

/** apimachinery's RegexError: the rule, its examples and the regular expression it stands for. */
function regexError(message: string, format: string, ...examples: string[]): string {
  if (examples.length === 0) return `${message} (regex used for validation is '${format}')`;
  return `${message} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${format}')`;
}

function maxLenError(max: number): string {
  return `must be no more than ${max} characters`;
}

const DNS1123_LABEL_MSG = regexError(
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
  DNS1123_LABEL_FMT,
  'my-name',
  '123-abc',
);
const DNS1123_SUBDOMAIN_MSG = regexError(
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
  DNS1123_SUBDOMAIN_FMT,
  'example.com',
);
const DNS1035_LABEL_MSG = regexError(
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
  DNS1035_LABEL_FMT,
  'my-name',
  'abc-123',
);
const QUALIFIED_NAME_CHARS = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const NAME_PART_MSG = `name part ${regexError(QUALIFIED_NAME_CHARS, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')}`;
const TOO_MANY_SLASHES_MSG = `a qualified name ${regexError(QUALIFIED_NAME_CHARS, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`;
const LABEL_VALUE_MSG = regexError(
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
  LABEL_VALUE_FMT,
  'MyValue',
  'my_value',
  '12345',
);

/** UTF-8 length, without encoding when the text is ASCII (nearly always). */
export function byteLength(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isLowerAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 122);
}

function isLower(c: number): boolean {
  return c >= 97 && c <= 122;
}

/** `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?` */
function isQualifiedNamePart(s: string): boolean {
  const n = s.length;
  if (n === 0 || !isAlnum(s.charCodeAt(0)) || !isAlnum(s.charCodeAt(n - 1))) return false;
  for (let i = 1; i < n - 1; i++) {
    const c = s.charCodeAt(i);
    if (!isAlnum(c) && c !== 45 /* - */ && c !== 95 /* _ */ && c !== 46 /* . */) return false;
  }
  return true;
}

/** `[a-z0-9]([-a-z0-9]*[a-z0-9])?` over s[start, end). */
function isDns1123LabelAt(s: string, start: number, end: number): boolean {
  if (end <= start || !isLowerAlnum(s.charCodeAt(start)) || !isLowerAlnum(s.charCodeAt(end - 1))) return false;
  for (let i = start + 1; i < end - 1; i++) {
    const c = s.charCodeAt(i);
    if (!isLowerAlnum(c) && c !== 45 /* - */) return false;
  }
  return true;
}

/** Dot-separated DNS-1123 labels. */
function isDns1123Subdomain(s: string): boolean {
  let start = 0;
  for (let i = 0; i <= s.length; i++) {
    if (i < s.length && s.charCodeAt(i) !== 46 /* . */) continue;
    if (!isDns1123LabelAt(s, start, i)) return false;
    start = i + 1;
  }
  return true;
}

/** apimachinery's IsDNS1123Subdomain: empty when `value` is valid. */
export function dns1123SubdomainErrors(value: string): string[] {
  const errors: string[] = [];
  if (byteLength(value) > DNS1123_SUBDOMAIN_MAX) errors.push(maxLenError(DNS1123_SUBDOMAIN_MAX));
  if (!isDns1123Subdomain(value)) errors.push(DNS1123_SUBDOMAIN_MSG);
  return errors;
}

/** apimachinery's IsDNS1123Label; a valid subdomain that is no label is told it has dots. */
export function dns1123LabelErrors(value: string): string[] {
  const errors: string[] = [];
  if (byteLength(value) > DNS1123_LABEL_MAX) errors.push(maxLenError(DNS1123_LABEL_MAX));
  if (!isDns1123LabelAt(value, 0, value.length)) errors.push(isDns1123Subdomain(value) ? 'must not contain dots' : DNS1123_LABEL_MSG);
  return errors;
}

/** apimachinery's IsDNS1035Label: a DNS-1123 label that starts with a letter. */
export function dns1035LabelErrors(value: string): string[] {
  const errors: string[] = [];
  if (byteLength(value) > DNS1123_LABEL_MAX) errors.push(maxLenError(DNS1123_LABEL_MAX));
  if (!isDns1123LabelAt(value, 0, value.length) || !isLower(value.charCodeAt(0))) errors.push(DNS1035_LABEL_MSG);
  return errors;
}

/**
 * apimachinery's IsQualifiedName, the rule of label and annotation keys: `[prefix/]name`, the
 * prefix a DNS-1123 subdomain, the name at most 63 alphanumerics with `-_.` inside.
 */
export function qualifiedNameErrors(value: string): string[] {
  const slash = value.indexOf('/');
  if (slash !== -1 && value.indexOf('/', slash + 1) !== -1) return [TOO_MANY_SLASHES_MSG];
  const errors: string[] = [];
  if (slash !== -1) {
    const prefix = value.slice(0, slash);
    if (prefix.length === 0) errors.push('prefix part must be non-empty');
    else for (const message of dns1123SubdomainErrors(prefix)) errors.push(`prefix part ${message}`);
  }
  const name = slash === -1 ? value : value.slice(slash + 1);
  if (name.length === 0) errors.push('name part must be non-empty');
  else if (byteLength(name) > QUALIFIED_NAME_MAX) errors.push(`name part ${maxLenError(QUALIFIED_NAME_MAX)}`);
  if (!isQualifiedNamePart(name)) errors.push(NAME_PART_MSG);
  return errors;
}

/** apimachinery's IsValidLabelValue: empty, or a qualified name's name part. */
export function labelValueErrors(value: string): string[] {
  const errors: string[] = [];
  if (byteLength(value) > LABEL_VALUE_MAX) errors.push(maxLenError(LABEL_VALUE_MAX));
  if (value.length > 0 && !isQualifiedNamePart(value)) errors.push(LABEL_VALUE_MSG);
  return errors;
}
