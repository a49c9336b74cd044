/** @kubernetes/client-node as the compatibility tests use it: a KubeConfig for the test server, and churn through CoreV1Api. */
import { KubeConfig, type CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { seededRandom } from './random.js';

export function kubeConfig(url: string): KubeConfig {
  const kc = new KubeConfig();
  // client-node refuses plain http unless skipTLSVerify is set.
  kc.loadFromOptions({
    clusters: [{ name: 'watchcache', server: url, skipTLSVerify: true }],
    users: [{ name: 'anonymous' }],
    contexts: [{ name: 'watchcache', cluster: 'watchcache', user: 'anonymous' }],
    currentContext: 'watchcache',
  });
  return kc;
}

/**
 * Creates, replaces and deletes pods through CoreV1Api, `ops` times over a few names in a few
 * namespaces. Returns the names that exist at the end (what the server must list).
 */
export async function churn(api: CoreV1Api, prefix: string, ops: number, seed: number): Promise<Set<string>> {
  const next = seededRandom(seed);
  const live = new Map<string, V1Pod>();
  for (let i = 0; i < ops; i++) {
    const namespace = `${prefix}-ns${Math.floor(next() * 3)}`;
    const name = `${prefix}-p${Math.floor(next() * 6)}`;
    const k = `${namespace}/${name}`;
    const current = live.get(k);
    if (current === undefined) {
      live.set(k, await api.createNamespacedPod({ namespace, body: { metadata: { name, labels: { round: '0' } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } } }));
    } else if (next() < 0.7) {
      const body: V1Pod = { ...current, metadata: { ...current.metadata, labels: { round: String(i) } } };
      live.set(k, await api.replaceNamespacedPod({ namespace, name, body }));
    } else {
      await api.deleteNamespacedPod({ namespace, name });
      live.delete(k);
    }
  }
  return new Set(live.keys());
}
