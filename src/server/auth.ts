/**
 * Bearer-token authentication and a small authorization rule set.
 *
 * The token file has one token per line: `TOKEN,USER,ACCESS[,NAMESPACES]`
 *   ACCESS      `ro` (get, list, watch) or `rw` (also create, update, patch, delete, deletecollection)
 *   NAMESPACES  `;`-separated namespaces the token is limited to; empty or absent: unlimited
 * Blank lines and lines starting with `#` are ignored. A limited token can only address
 * namespaced paths inside its namespaces: cluster-wide lists and watches and cluster-scoped
 * resources need an unlimited token.
 *
 * Tokens are kept as SHA-256 digests and looked up by digest, so the comparison never runs over
 * the secret itself.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ErrorCodes, WatchCacheError } from '../errors.js';
import { forbidden, unauthorized } from './api-error.js';
import { isValidName } from './names.js';
import type { ResourceDefinition } from './registry.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** Every verb the server serves, in kube's discovery order. */
export const VERBS: readonly string[] = Object.freeze(['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']);
export type Access = 'ro' | 'rw';

export interface Principal {
  readonly user: string;
  readonly access: Access;
  /** The namespaces the token is limited to; undefined: every namespace and the cluster scope. */
  readonly namespaces: ReadonlySet<string> | undefined;
}

const READ_VERBS: ReadonlySet<Verb> = new Set(['get', 'list', 'watch']);

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class TokenTable {
  readonly #byDigest: ReadonlyMap<string, Principal>;

  private constructor(byDigest: ReadonlyMap<string, Principal>) {
    this.#byDigest = byDigest;
  }

  get size(): number {
    return this.#byDigest.size;
  }

  /** Parses a token file's text; throws WC_ERR_INVALID naming the line. */
  static parse(text: string, source = 'token file'): TokenTable {
    const byDigest = new Map<string, Principal>();
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === '' || line.startsWith('#')) continue;
      const where = `${source}:${i + 1}`;
      const fail = (message: string): never => {
        throw new WatchCacheError(ErrorCodes.INVALID, `${where}: ${message}`);
      };
      const fields = line.split(',').map((f) => f.trim());
      if (fields.length < 3 || fields.length > 4) fail('expected TOKEN,USER,ro|rw[,NS1;NS2]');
      const [token, user, access, namespaceField = ''] = fields as [string, string, string, string?];
      if (token === '' || /\s/.test(token)) fail('the token must be non-empty and contain no whitespace');
      if (user === '') fail('the user must be non-empty');
      if (access !== 'ro' && access !== 'rw') fail(`access must be "ro" or "rw", got ${JSON.stringify(access)}`);
      let namespaces: Set<string> | undefined;
      if (namespaceField !== '') {
        namespaces = new Set();
        for (const ns of namespaceField.split(';').map((n) => n.trim())) {
          if (!isValidName(ns, 'dns1123-label')) fail(`${JSON.stringify(ns)} is not a valid namespace name`);
          namespaces.add(ns);
        }
      }
      const key = digest(token);
      if (byDigest.has(key)) fail('the same token is listed twice');
      byDigest.set(key, Object.freeze({ user, access: access as Access, namespaces }));
    }
    return new TokenTable(byDigest);
  }

  static load(path: string): TokenTable {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new WatchCacheError(ErrorCodes.INVALID, `cannot read token file ${path}: ${(err as Error).message}`);
    }
    return TokenTable.parse(text, path);
  }

  /** The principal of an `Authorization: Bearer TOKEN` header; throws 401 otherwise. */
  authenticate(header: string | undefined): Principal {
    if (header === undefined) throw unauthorized();
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null) throw unauthorized();
    const principal = this.#byDigest.get(digest(match[1]!));
    if (principal === undefined) throw unauthorized();
    return principal;
  }
}

/**
 * Why `principal` may not do `verb` in `namespace` (undefined: cluster-wide), or undefined when
 * it may. The policy looks at the verb and the scope only, never at the resource.
 */
export function accessDecision(principal: Principal, verb: Verb, namespace: string | undefined): string | undefined {
  if (!READ_VERBS.has(verb) && principal.access !== 'rw') return 'the token is read-only';
  if (principal.namespaces === undefined) return undefined;
  if (namespace === undefined) return 'the token is limited to namespaces';
  if (!principal.namespaces.has(namespace)) return 'the token is not allowed in this namespace';
  return undefined;
}

/** Throws 403 unless `principal` may do `verb` on `resource` in `namespace` (undefined: cluster-wide). */
export function authorize(principal: Principal, verb: Verb, resource: ResourceDefinition, namespace: string | undefined): void {
  const why = accessDecision(principal, verb, namespace);
  if (why !== undefined) throw forbidden(principal.user, verb, resource.plural, namespace, why);
}
