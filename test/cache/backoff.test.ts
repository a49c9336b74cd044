import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/cache/backoff.js';

describe('relist backoff', () => {
  it('doubles from 800 ms up to 30 s with jitter factor 1', () => {
    const none = new Backoff({ random: () => 0 });
    const waits = Array.from({ length: 8 }, (_, i) => none.next(i));
    expect(waits).toEqual([800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
    const full = new Backoff({ random: () => 0.999 });
    expect(full.next(0)).toBeCloseTo(1599.2);
  });

  it('starts over after two minutes without a failure', () => {
    const backoff = new Backoff({ random: () => 0 });
    backoff.next(0);
    backoff.next(1);
    expect(backoff.next(2)).toBe(3200);
    expect(backoff.next(2 + 120_000)).toBe(800);
  });
});
