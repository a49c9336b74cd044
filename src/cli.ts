#!/usr/bin/env node
/**
 * The `watchcache` command. Each sub-command says plainly what it does; one that has not landed
 * yet says so and exits non-zero rather than pretending to work.
 *
 * Exit codes: 0 after a clean stop, 1 when serving fails (a bad resources or token file, a port in
 * use, a store that refuses), 2 for a command line that does not parse.
 */
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { parseFlags, type FlagSpec } from './command-line.js';
import { UsageError } from './errors.js';
import { TokenTable } from './server/auth.js';
import { createMetrics } from './server/prometheus.js';
import { BUILTIN_RESOURCES, loadResourcesFile } from './server/registry.js';
import { createServer, DEFAULT_HOST, DEFAULT_PORT, DEFAULT_PREFIX, type ServerOptions } from './server/server.js';
import { MemoryStorage } from './storage/memory.js';
import type { Storage } from './storage/storage.js';

const USAGE = `Usage: watchcache <command> [options]

Commands:
  serve   serve the Kubernetes API from the cache
  bench   run the benchmark (watchcache bench --help; --quick for a short run)
  help    show this text

watchcache serve [options]
  --port N            port to listen on (default ${DEFAULT_PORT}; 0 picks a free port)
  --host H            address to bind (default ${DEFAULT_HOST})
  --etcd URL,...      cache etcd at these client URLs (default: the embedded in-memory store)
  --data-dir DIR      keep the embedded store on disk in DIR: writes survive restarts and
                      revisions continue (default: in memory, lost on exit)
  --etcd-progress-notify-interval MS
                      the members' --experimental-watch-progress-notify-interval, in ms: lets
                      the cache serve consistent reads on etcd < 3.4.31 / 3.5.13 (keep it < 3000)
  --prefix P          storage key prefix everything lives under (default ${DEFAULT_PREFIX})
  --workers N         dispatch worker threads for each resource with an index trigger (pods);
                      default: 0 (inline) on up to 2 cores, else cores - 1, at most 4
  --resources FILE    custom resources to serve besides the built-in core/v1 ones (JSON)
  --token-file FILE   require bearer tokens: lines TOKEN,USER,ro|rw[,NS1;NS2]
  --tls-cert FILE     serve HTTPS with this PEM certificate (needs --tls-key)
  --tls-key FILE      the PEM private key of --tls-cert
  --no-metrics        do not serve /metrics (Prometheus text format; on by default)
  --help              show this text

It prints "watchcache serving on URL" once every cache is ready, and stops cleanly on
SIGINT or SIGTERM. See docs/server.md for the endpoints and the file formats.
`;

interface ServeArgs {
  port: number;
  host: string;
  etcd: string[] | undefined;
  dataDir: string | undefined;
  etcdProgressNotifyIntervalMs: number | undefined;
  prefix: string;
  workers: number | undefined;
  resources: string | undefined;
  tokenFile: string | undefined;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  metrics: boolean;
  help: boolean;
}

const SERVE_FLAGS: FlagSpec = {
  help: { type: 'boolean', short: 'h' },
  'no-metrics': { type: 'boolean' },
  ...Object.fromEntries(
    ['port', 'host', 'etcd', 'data-dir', 'etcd-progress-notify-interval', 'prefix', 'workers', 'resources', 'token-file', 'tls-cert', 'tls-key'].map((name) => [
      name,
      { type: 'string' as const },
    ]),
  ),
};

function integer(flag: string, value: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${flag} must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function parseServeArgs(argv: readonly string[]): ServeArgs {
  const args: ServeArgs = {
    port: DEFAULT_PORT,
    host: DEFAULT_HOST,
    etcd: undefined,
    dataDir: undefined,
    etcdProgressNotifyIntervalMs: undefined,
    prefix: DEFAULT_PREFIX,
    workers: undefined,
    resources: undefined,
    tokenFile: undefined,
    tlsCert: undefined,
    tlsKey: undefined,
    metrics: true,
    help: false,
  };
  for (const { name, flag, value: given } of parseFlags(argv, SERVE_FLAGS)) {
    const value = given!;
    if (name === 'help') {
      args.help = true;
      continue;
    }
    if (name === 'no-metrics') {
      args.metrics = false;
      continue;
    }
    switch (flag) {
      case '--port':
        args.port = integer(flag, value, 0, 65535);
        break;
      case '--host':
        args.host = value;
        break;
      case '--etcd': {
        const endpoints = value.split(',').map((e) => e.trim());
        for (const endpoint of endpoints) {
          if (!/^https?:\/\/[^/\s]+\/?$/.test(endpoint)) throw new UsageError(`--etcd takes client URLs such as http://127.0.0.1:2379, got ${JSON.stringify(endpoint)}`);
        }
        args.etcd = endpoints;
        break;
      }
      case '--data-dir':
        args.dataDir = value;
        break;
      case '--etcd-progress-notify-interval':
        args.etcdProgressNotifyIntervalMs = integer(flag, value, 1, 3_600_000);
        break;
      case '--prefix':
        if (!value.startsWith('/')) throw new UsageError(`--prefix must start with "/", got ${JSON.stringify(value)}`);
        args.prefix = value;
        break;
      case '--workers':
        args.workers = integer(flag, value, 0, 1024);
        break;
      case '--resources':
        args.resources = value;
        break;
      case '--token-file':
        args.tokenFile = value;
        break;
      case '--tls-cert':
        args.tlsCert = value;
        break;
      case '--tls-key':
        args.tlsKey = value;
        break;
    }
  }
  if ((args.tlsCert === undefined) !== (args.tlsKey === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (args.dataDir !== undefined && args.etcd !== undefined) throw new UsageError('--data-dir is for the embedded store, not --etcd');
  if (args.etcdProgressNotifyIntervalMs !== undefined && args.etcd === undefined) {
    throw new UsageError('--etcd-progress-notify-interval goes with --etcd');
  }
  return args;
}

function readPem(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${flag}: cannot read ${path}: ${(err as Error).message}`);
  }
}

async function openStorage(args: ServeArgs): Promise<Storage> {
  if (args.dataDir !== undefined) {
    const { DurableStorage } = await import('./storage/durable.js');
    const storage = await DurableStorage.open({ dataDir: args.dataDir });
    const { objects, revision, durationMs } = storage.stats().recovery;
    log(`recovered ${objects} objects at revision ${revision} in ${Math.round(durationMs)} ms from ${args.dataDir}`);
    return storage;
  }
  if (args.etcd === undefined) return new MemoryStorage();
  // Loaded only when asked for: the etcd client and gRPC are heavy to import.
  const { EtcdStorage } = await import('./storage/etcd.js');
  const interval = args.etcdProgressNotifyIntervalMs;
  return new EtcdStorage({ endpoints: args.etcd, ...(interval === undefined ? {} : { progressNotifyIntervalMs: interval }) });
}

function log(message: string): void {
  process.stderr.write(`watchcache: ${message}\n`);
}

async function serve(argv: readonly string[]): Promise<number> {
  let args: ServeArgs;
  try {
    args = parseServeArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`watchcache serve: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  let options: Omit<ServerOptions, 'storage'>;
  try {
    options = {
      host: args.host,
      port: args.port,
      prefix: args.prefix,
      resources: args.resources === undefined ? BUILTIN_RESOURCES : [...BUILTIN_RESOURCES, ...loadResourcesFile(args.resources)],
      ...(args.workers === undefined ? {} : { workers: args.workers }),
      ...(args.tokenFile === undefined ? {} : { tokens: TokenTable.load(args.tokenFile) }),
      ...(args.tlsCert === undefined ? {} : { tls: { cert: readPem('--tls-cert', args.tlsCert), key: readPem('--tls-key', args.tlsKey!) } }),
      ...(args.metrics ? { metrics: createMetrics() } : {}),
      onError: (err, context) => log(`${context}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`),
    };
  } catch (err) {
    log((err as Error).message);
    return 1;
  }

  let storage: Storage;
  try {
    storage = await openStorage(args);
  } catch (err) {
    log((err as Error).message);
    return 1;
  }
  let server: ReturnType<typeof createServer> | undefined;
  let stopping: Promise<number> | undefined;
  const stop = (): Promise<number> => {
    stopping ??= (async () => {
      try {
        await server?.close();
        await storage.close();
        return 0;
      } catch (err) {
        log(`stopping: ${(err as Error).message}`);
        return 1;
      }
    })();
    return stopping;
  };
  const stopped = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping !== undefined) {
        log(`${signal} again: exiting now`);
        process.exit(1);
      }
      void stop().then(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

  try {
    server = createServer({ ...options, storage });
    await server.listen();
    await Promise.race([server.ready(), stopped]);
  } catch (err) {
    log((err as Error).message);
    await stop();
    return 1;
  }
  if (stopping === undefined) process.stdout.write(`watchcache serving on ${server.url}\n`);
  return stopped;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command = 'help', ...rest] = argv;
  switch (command) {
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    case 'serve':
      return serve(rest);
    case 'bench': {
      // Loaded on demand: the benchmark's tooling has no place on the serving path.
      const { runBench } = await import('../bench/index.js');
      return runBench(rest);
    }
    default:
      process.stderr.write(`watchcache: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Whatever handle a dependency leaves behind must not keep a stopped server's process alive.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (err: unknown) => {
    log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
