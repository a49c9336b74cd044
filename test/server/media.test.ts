import { describe, expect, it } from 'vitest';
import { JSON_WATCH_ENCODING, negotiate, RESPONSE_TYPES } from '../../src/server/media.js';

describe('media type negotiation', () => {
  const watchOffers = [JSON_WATCH_ENCODING, { mediaType: 'application/vnd.msgpack' }];

  it('no Accept, */* and application/* get JSON', () => {
    for (const accept of [undefined, '', '*/*', 'application/*', 'application/json, */*;q=0.8']) {
      expect(negotiate(accept, RESPONSE_TYPES).mediaType).toBe('application/json');
    }
  });

  it("kubectl's Table and client-go's protobuf preferences fall back to plain JSON", () => {
    expect(negotiate('application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json', RESPONSE_TYPES).mediaType).toBe('application/json');
    expect(negotiate('application/vnd.kubernetes.protobuf,application/json', RESPONSE_TYPES).mediaType).toBe('application/json');
  });

  it('q-values rank the offers; the stream=watch parameter is for watches only', () => {
    expect(negotiate('application/json;q=0.5, application/vnd.msgpack', watchOffers, true).mediaType).toBe('application/vnd.msgpack');
    expect(negotiate('application/vnd.msgpack;q=0.1, application/json', watchOffers, true).mediaType).toBe('application/json');
    expect(negotiate('application/json;stream=watch', watchOffers, true).mediaType).toBe('application/json');
    expect(() => negotiate('application/json;stream=watch', RESPONSE_TYPES)).toThrow(/media types/);
  });

  it('nothing acceptable: 406', () => {
    expect(() => negotiate('application/yaml', RESPONSE_TYPES)).toThrow(expect.objectContaining({ code: 'WC_ERR_NOT_ACCEPTABLE' }));
    expect(() => negotiate('application/json;q=0', RESPONSE_TYPES)).toThrow(expect.objectContaining({ code: 'WC_ERR_NOT_ACCEPTABLE' }));
  });
});
