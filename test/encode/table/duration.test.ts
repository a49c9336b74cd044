import { describe, expect, it } from 'vitest';
import { humanDuration, since } from '../../../src/encode/table/duration.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

describe('humanDuration (apimachinery duration.HumanDuration)', () => {
  it.each([
    [S, '1s'],
    [70 * S, '70s'],
    [190 * S, '3m10s'],
    [70 * M, '70m'],
    [47 * H, '47h'],
    [49 * H, '2d1h'],
    [(8 * 24 + 2) * H, '8d'],
    [367 * 24 * H, '367d'],
    [(365 * 2 * 24 + 25) * H, '2y1d'],
    [(365 * 8 * 24 + 2) * H, '8y'],
  ])('%i ms is %s', (ms, want) => expect(humanDuration(ms)).toBe(want));

  it.each([
    [-2 * S, '<invalid>'],
    [-2 * S + 1, '0s'],
    [0, '0s'],
    [S - 1, '0s'],
    [2 * M - 1, '119s'],
    [2 * M, '2m'],
    [2 * M + S, '2m1s'],
    [10 * M - 1, '9m59s'],
    [10 * M, '10m'],
    [10 * M + S, '10m'],
    [3 * H - 1, '179m'],
    [3 * H, '3h'],
    [3 * H + M, '3h1m'],
    [8 * H - 1, '7h59m'],
    [8 * H, '8h'],
  ])('boundary %i ms is %s', (ms, want) => expect(humanDuration(ms)).toBe(want));
});

describe('since (translateTimestampSince)', () => {
  it('an unset timestamp is <unknown>', () => {
    expect(since(undefined, Date.now())).toBe('<unknown>');
    expect(since('', Date.now())).toBe('<unknown>');
  });
  it('measures from the given clock', () => {
    expect(since('2024-01-01T00:00:00Z', Date.parse('2024-01-01T00:03:02Z'))).toBe('3m2s');
  });
});
