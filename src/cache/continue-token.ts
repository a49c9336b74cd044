/**
 * Continue tokens in the Kubernetes format (k8s.io/apiserver/pkg/storage/continue.go):
 * base64url(JSON {"v":"meta.k8s.io/v1","rv":<list RV>,"start":<next key, relative to the prefix>}),
 * so a token from watchcache looks like one from kube-apiserver and vice versa.
 */
import { ErrorCodes, WatchCacheError } from '../errors.js';

export interface ContinuePosition {
  /** The revision the paged list is pinned at. */
  revision: number;
  /** The key to resume from (inclusive), relative to the resource prefix. */
  start: string;
}

const VERSION = 'meta.k8s.io/v1';

export function encodeContinue(position: ContinuePosition): string {
  return Buffer.from(JSON.stringify({ v: VERSION, rv: position.revision, start: position.start })).toString('base64url');
}

export function decodeContinue(token: string): ContinuePosition {
  const bad = (why: string): never => {
    throw new WatchCacheError(ErrorCodes.BAD_REQUEST, `continue key is not valid: ${why}`);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return bad('not a base64url-encoded JSON object');
  }
  if (typeof parsed !== 'object' || parsed === null) return bad('not a JSON object');
  const { v, rv, start } = parsed as { v?: unknown; rv?: unknown; start?: unknown };
  if (v !== VERSION) return bad(`incorrect encoded start resourceVersion (version ${JSON.stringify(v)})`);
  if (typeof rv !== 'number' || !Number.isSafeInteger(rv) || rv === 0) return bad('incorrect encoded start resourceVersion');
  if (typeof start !== 'string' || start.length === 0) return bad('encoded start key is empty');
  // A key that climbs out of the prefix would let a token read other resources.
  if (start.startsWith('/') || start.split('/').some((part) => part === '..' || part === '.')) {
    return bad('encoded start key must be a relative key below the prefix');
  }
  return { revision: rv, start };
}
