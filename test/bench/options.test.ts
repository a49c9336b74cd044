/** `watchcache bench` options that choose the end-to-end scenario and its systems. */
import { describe, expect, it } from 'vitest';
import { SYSTEMS } from '../../bench/e2e/types.js';
import { UsageError } from '../../src/errors.js';
import { parseOptions } from '../../bench/options.js';
import { SCENARIOS } from '../../bench/types.js';

describe('bench options: the end-to-end scenario', () => {
  it('runs every in-process scenario and e2e against every system by default', () => {
    const o = parseOptions([]);
    expect(o.scenarios).toEqual([...SCENARIOS]);
    expect(o.e2e).toBe(true);
    expect(o.systems).toEqual([...SYSTEMS]);
  });

  it('--scenario e2e runs only e2e; --scenario kubelet leaves it out; all includes it', () => {
    expect(parseOptions(['--scenario', 'e2e'])).toMatchObject({ scenarios: [], e2e: true });
    expect(parseOptions(['--scenario', 'kubelet'])).toMatchObject({ scenarios: ['kubelet'], e2e: false });
    expect(parseOptions(['--scenario', 'all'])).toMatchObject({ scenarios: [...SCENARIOS], e2e: true });
  });

  it('--systems alone runs only e2e, with those systems', () => {
    expect(parseOptions(['--systems', 'floor,etcd-direct'])).toMatchObject({ scenarios: [], e2e: true, systems: ['floor', 'etcd-direct'] });
  });

  it('--workers picks the watchcache systems too', () => {
    expect(parseOptions(['--scenario', 'e2e', '--workers', '0']).systems).toEqual(['floor', 'watchcache-memory-w0', 'watchcache-etcd-w0', 'etcd-direct', 'etcd-grpc-proxy']);
  });

  it('refuses an unknown system, and --systems with scenarios that are not e2e', () => {
    expect(() => parseOptions(['--systems', 'nope'])).toThrow(UsageError);
    expect(() => parseOptions(['--scenario', 'kubelet', '--systems', 'floor'])).toThrow(/e2e/);
  });
});
