/**
 * The bits of @grpc/grpc-js that etcd3 does not expose: a call interceptor that marks watch
 * streams as require-leader.
 */
import { createRequire } from 'node:module';
import type { Interceptor } from '@grpc/grpc-js';

/**
 * Load grpc-js from etcd3's own location rather than ours: the interceptor runs inside etcd3's
 * channel, so it must come from the very copy etcd3 was installed with, whatever the package
 * manager's layout.
 */
function loadGrpc(): typeof import('@grpc/grpc-js') {
  const etcd3Path = createRequire(import.meta.url).resolve('etcd3');
  return createRequire(etcd3Path)('@grpc/grpc-js') as typeof import('@grpc/grpc-js');
}

const grpc = loadGrpc();

/**
 * Adds `hasleader: true` to a call's metadata (etcd's rpctypes.MetadataRequireLeaderKey). etcd
 * then refuses the stream on a member without a leader and cancels open streams when the member
 * loses its leader ("etcdserver: no leader"), instead of leaving a watch on a partitioned member
 * silently stalled. The metadata is cloned because etcd3 shares one Metadata object (the auth
 * token) across calls.
 */
export const requireLeaderInterceptor: Interceptor = (options, nextCall) =>
  new grpc.InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      const withLeader = metadata.clone();
      withLeader.set('hasleader', 'true');
      next(withLeader, listener);
    },
  });
