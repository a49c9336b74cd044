/**
 * The string scalars of built-in kinds that kube-apiserver's decoder parses while it decodes a
 * body, and the errors it stops with (400): a `metav1.Time` is Go's `time.Parse(time.RFC3339, s)`,
 * a `resource.Quantity` is apimachinery's `ParseQuantity`. Their messages are the ones users see
 * after `... cannot be handled as a Pod: `. A value stored unparsed would break typed clients that
 * decode it (the Python client parses every date-time).
 */

const RFC3339 = '2006-01-02T15:04:05Z07:00';

const isDigit = (s: string, i: number): boolean => i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57;

/** Go's `time.Parse` quoting of a value in an error: double quotes, `"` and `\` escaped. */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

function daysIn(month: number, year: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Why `time.Parse(time.RFC3339, value)` refuses `value`, in Go's words, or undefined when it
 * parses. Follows Go's general parser (the one that words the errors): the layout's elements in
 * order, each failing with `cannot parse "<rest>" as "<element>"`, ranges after, then extra text.
 */
export function goTimeError(value: string): string | undefined {
  let rest = value;
  const bad = (element: string): string => `parsing time ${goQuote(value)} as ${goQuote(RFC3339)}: cannot parse ${goQuote(rest)} as ${goQuote(element)}`;
  const range = (what: string): string => `parsing time ${goQuote(value)}: ${what} out of range`;
  /** Go's getnum: two digits (`fixed`), or one or two. */
  const num = (fixed: boolean): number | undefined => {
    if (!isDigit(rest, 0)) return undefined;
    if (!isDigit(rest, 1)) {
      if (fixed) return undefined;
      const n = Number(rest[0]);
      rest = rest.slice(1);
      return n;
    }
    const n = Number(rest.slice(0, 2));
    rest = rest.slice(2);
    return n;
  };
  const literal = (text: string): boolean => {
    if (!rest.startsWith(text)) return false;
    rest = rest.slice(text.length);
    return true;
  };

  if (rest.length < 4 || !isDigit(rest, 0) || !/^\d{4}$/.test(rest.slice(0, 4))) return bad('2006');
  const year = Number(rest.slice(0, 4));
  rest = rest.slice(4);
  if (!literal('-')) return bad('-');
  const month = num(true);
  if (month === undefined) return bad('01');
  if (month < 1 || month > 12) return range('month');
  if (!literal('-')) return bad('-');
  // Any two-digit day here; the day of that month is checked at the end, as Go does.
  const day = num(true);
  if (day === undefined) return bad('02');
  if (!literal('T')) return bad('T');
  const hour = num(false);
  if (hour === undefined) return bad('15');
  if (hour >= 24) return range('hour');
  if (!literal(':')) return bad(':');
  const minute = num(true);
  if (minute === undefined) return bad('04');
  if (minute >= 60) return range('minute');
  if (!literal(':')) return bad(':');
  const second = num(true);
  if (second === undefined) return bad('05');
  if (second >= 60) return range('second');
  // Fractional seconds follow the seconds without being in the layout.
  if (rest.length >= 2 && (rest[0] === '.' || rest[0] === ',') && isDigit(rest, 1)) {
    let i = 1;
    while (isDigit(rest, i)) i++;
    rest = rest.slice(i);
  }
  if (rest.startsWith('Z')) {
    rest = rest.slice(1);
  } else {
    const zone = /^[+-](\d\d):(\d\d)/.exec(rest);
    if (zone === null) return bad('Z07:00');
    if (Number(zone[1]) > 24) return range('time zone offset hour');
    if (Number(zone[2]) > 60) return range('time zone offset minute');
    rest = rest.slice(6);
  }
  if (rest.length > 0) return `parsing time ${goQuote(value)}: extra text: ${goQuote(rest)}`;
  if (day < 1 || day > daysIn(month, year)) return range('day');
  return undefined;
}

const QUANTITY_FORMAT = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const QUANTITY_SUFFIX = "unable to parse quantity's suffix";
const SUFFIXES = new Set(['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'n', 'u', 'm', 'k', 'M', 'G', 'T', 'P', 'E']);

/**
 * Why apimachinery's `ParseQuantity` refuses a quantity string, in its words, or undefined when
 * it parses: an optional sign, digits with at most one point, then a suffix (binary `Ki`…`Ei`,
 * decimal `n`…`E`, or an exponent `e3`/`E-2`).
 */
export function quantityError(value: string): string | undefined {
  if (value === '') return QUANTITY_FORMAT;
  const m = /^[+-]?[0-9]*(?:\.[0-9]*)?/.exec(value)!;
  let i = m[0].length;
  const suffixStart = i;
  while (i < value.length && 'eEinumkKMGTP'.includes(value[i]!)) i++;
  if (i < value.length && (value[i] === '+' || value[i] === '-')) i++;
  while (isDigit(value, i)) i++;
  if (i < value.length) return QUANTITY_FORMAT;
  const suffix = value.slice(suffixStart);
  if (SUFFIXES.has(suffix)) return undefined;
  // An exponent is a Go int64.
  if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E') && /^[+-]?\d+$/.test(suffix.slice(1)) && Math.abs(Number(suffix.slice(1))) < 2 ** 63) return undefined;
  return QUANTITY_SUFFIX;
}
