import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { ReadyGate } from '../../src/cache/ready.js';

describe('ReadyGate', () => {
  it('starts pending and refuses with WC_ERR_NOT_READY and a Retry-After of 1 s', () => {
    const gate = new ReadyGate(new ManualClock());
    expect(() => gate.check()).toThrowError(
      expect.objectContaining({ code: 'WC_ERR_NOT_READY', details: { retryAfterSeconds: 1 } }),
    );
  });

  it('computes Retry-After as clamp(exp(0.06 × downtime), 1, 30): 0 s → 1, 14 s → 2, 57 s → 30', async () => {
    const clock = new ManualClock();
    const gate = new ReadyGate(clock);
    expect(gate.retryAfterSeconds()).toBe(1);
    await clock.advance(14_000);
    expect(gate.retryAfterSeconds()).toBe(2);
    await clock.advance(43_000);
    expect(gate.retryAfterSeconds()).toBe(30);
    await clock.advance(1_000_000);
    expect(gate.retryAfterSeconds()).toBe(30);
  });

  it('bumps the generation on every pending → ready transition', () => {
    const gate = new ReadyGate(new ManualClock());
    gate.setReady();
    expect(gate.check()).toBe(1);
    gate.setPending(new Error('watch ended'));
    expect(() => gate.check()).toThrowError(/storage is \(re\)initializing: watch ended/);
    gate.setReady();
    expect(gate.check()).toBe(2);
  });

  it('measures downtime from the moment it went pending', async () => {
    const clock = new ManualClock();
    const gate = new ReadyGate(clock);
    gate.setReady();
    await clock.advance(100_000);
    gate.setPending();
    expect(gate.retryAfterSeconds()).toBe(1);
  });

  it('once stopped stays stopped and refuses with WC_ERR_STOPPED', async () => {
    const gate = new ReadyGate(new ManualClock());
    const waiting = gate.wait();
    gate.stop();
    await waiting;
    gate.setReady();
    expect(gate.state).toBe('stopped');
    expect(() => gate.check()).toThrowError(expect.objectContaining({ code: 'WC_ERR_STOPPED' }));
  });
});
