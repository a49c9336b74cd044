/**
 * LIST and GET delegation (kube-apiserver's delegator.go), row by row: which requests the cache
 * answers, at once or after catching up, and which go to the store.
 */
import { describe, expect, it } from 'vitest';
import { getPlan, listPlan, type GetPlan, type ListPlan, type ListRequest, type ReadState } from '../../src/cache/read-path.js';

const CACHE = 100;

const list = (request: Partial<ListRequest>): ListRequest => ({ rv: undefined, match: undefined, limit: 0, everything: true, token: undefined, ...request });
const state = (ready: ReadState['ready'], trusted = true): ReadState => ({ ready, cacheRevision: CACHE, progressTrusted: () => trusted });

const listRows: Array<[label: string, request: ListRequest, state: ReadState, plan: ListPlan]> = [
  ['consistent, trusted progress: the cache once fresh', list({}), state('ready'), { source: 'consistent' }],
  ['consistent, untrusted progress: the store at once (a fallback)', list({}), state('ready', false), { source: 'store', fallback: true }],
  ['RV 0: the cache at once', list({ rv: 0 }), state('ready', false), { source: 'cache' }],
  ['RV N: not older than N', list({ rv: 90 }), state('ready'), { source: 'notOlderThan', revision: 90 }],
  ['RV N NotOlderThan with a limit: not older than N', list({ rv: 90, match: 'NotOlderThan', limit: 5 }), state('ready'), { source: 'notOlderThan', revision: 90 }],
  ['RV N with a limit (legacy): exactly N', list({ rv: 90, limit: 5 }), state('ready'), { source: 'exact', revision: 90 }],
  ['RV N Exact: exactly N', list({ rv: 90, match: 'Exact' }), state('ready'), { source: 'exact', revision: 90 }],
  ['a continue token at the cache revision: the cache from its key', list({ token: { revision: CACHE, start: 'ns/b\0' }, limit: 5 }), state('ready'), { source: 'cache', start: 'ns/b\0' }],
  [
    'a continue token at an older revision: the store at it',
    list({ token: { revision: 90, start: 'ns/b\0' }, limit: 5 }),
    state('ready'),
    { source: 'store', revision: 90, start: 'ns/b\0', continuing: true },
  ],
  ['not ready, unfiltered and limited: the store', list({ limit: 5 }), state('pending'), { source: 'store' }],
  ['not ready, unfiltered and limited at RV N: the store at N', list({ rv: 90, limit: 5 }), state('pending'), { source: 'store', revision: 90 }],
  [
    'not ready, a later page: the store at the token',
    list({ limit: 5, token: { revision: 90, start: 'ns/b\0' } }),
    state('pending'),
    { source: 'store', revision: 90, start: 'ns/b\0' },
  ],
  ['not ready, filtered: unavailable', list({ limit: 5, everything: false }), state('pending'), { source: 'unavailable' }],
  ['not ready, unlimited: unavailable', list({}), state('pending'), { source: 'unavailable' }],
  ['stopped: unavailable', list({ limit: 5 }), state('stopped'), { source: 'unavailable' }],
];

const getRows: Array<[label: string, rv: number | undefined, ready: ReadState['ready'], plan: GetPlan]> = [
  ['consistent: the store', undefined, 'ready', { source: 'store' }],
  ['RV 0: the cache at once', 0, 'ready', { source: 'cache', atLeast: 0 }],
  ['RV N: the cache once at N', 90, 'ready', { source: 'cache', atLeast: 90 }],
  ['not ready: the store', 90, 'pending', { source: 'store' }],
  ['stopped: unavailable', undefined, 'stopped', { source: 'unavailable' }],
];

describe('listPlan: LIST from the cache or the store', () => {
  it.each(listRows)('%s', (_label, request, readState, plan) => {
    expect(listPlan(request, readState)).toEqual(plan);
  });
});

describe('getPlan: GET from the cache or the store', () => {
  it.each(getRows)('%s', (_label, rv, ready, plan) => {
    expect(getPlan(rv, { ready })).toEqual(plan);
  });
});
