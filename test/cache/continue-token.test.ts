import { describe, expect, it } from 'vitest';
import { decodeContinue, encodeContinue } from '../../src/cache/continue-token.js';

describe('continue tokens', () => {
  it('round-trip the pinned revision and the start key', () => {
    const token = encodeContinue({ revision: 42, start: 'default/web-1\u0000' });
    expect(decodeContinue(token)).toEqual({ revision: 42, start: 'default/web-1\u0000' });
  });

  it('use the Kubernetes wire format: base64url of {"v","rv","start"}', () => {
    const token = encodeContinue({ revision: 7, start: 'a\u0000' });
    expect(JSON.parse(Buffer.from(token, 'base64url').toString())).toEqual({ v: 'meta.k8s.io/v1', rv: 7, start: 'a\u0000' });
  });

  it.each([
    ['garbage', '!!!'],
    ['a JSON string', Buffer.from('"x"').toString('base64url')],
    ['a wrong version', Buffer.from('{"v":"x","rv":1,"start":"a"}').toString('base64url')],
    ['a zero revision', Buffer.from('{"v":"meta.k8s.io/v1","rv":0,"start":"a"}').toString('base64url')],
    ['an empty start', Buffer.from('{"v":"meta.k8s.io/v1","rv":3,"start":""}').toString('base64url')],
    ['a start that climbs out of the prefix', Buffer.from('{"v":"meta.k8s.io/v1","rv":3,"start":"../secrets/x"}').toString('base64url')],
  ])('reject %s with WC_ERR_BAD_REQUEST', (_, token) => {
    expect(() => decodeContinue(token)).toThrowError(expect.objectContaining({ code: 'WC_ERR_BAD_REQUEST' }));
  });
});
