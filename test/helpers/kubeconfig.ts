/**
 * The kubeconfig the kubectl tests hand to kubectl: one cluster (the server under test), one user
 * (anonymous, or a bearer token), and an environment that keeps kubectl's discovery cache in the
 * test's temporary directory.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface KubeconfigOptions {
  /** The server's CA certificate file, for https. */
  certificateAuthority?: string;
  /** A bearer token; without it the user is anonymous. */
  token?: string;
}

/** Writes `dir/config` for the server at `url`; returns kubectl's environment for it. */
export function kubectlEnv(dir: string, url: string, options: KubeconfigOptions = {}): NodeJS.ProcessEnv {
  const config = join(dir, 'config');
  const lines = ['apiVersion: v1', 'kind: Config', 'clusters:', '- name: watchcache', '  cluster:', `    server: ${url}`];
  if (options.certificateAuthority !== undefined) lines.push(`    certificate-authority: ${options.certificateAuthority}`);
  lines.push('contexts:', '- name: watchcache', '  context:', '    cluster: watchcache', '    user: user', 'users:', '- name: user');
  lines.push(...(options.token === undefined ? ['  user: {}'] : ['  user:', `    token: ${options.token}`]));
  lines.push('current-context: watchcache', '');
  writeFileSync(config, lines.join('\n'));
  // Only what kubectl needs: PATH (kubectl diff runs `diff`); its discovery cache goes to HOME/.kube, inside `dir`.
  return { PATH: process.env['PATH'] ?? '', HOME: dir, KUBECONFIG: config };
}
