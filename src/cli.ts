#!/usr/bin/env node
/**
 * The `watchcache` command. Each sub-command says plainly what it does; one that has not landed
 * yet says so and exits non-zero rather than pretending to work.
 */
import process from 'node:process';

const USAGE = `Usage: watchcache <command> [options]

Commands:
  serve   serve the Kubernetes API from the cache
          [--port N] [--host H] [--etcd URL,...] [--prefix P] [--workers N]
  bench   run the benchmark
  help    show this text
`;

function main(argv: readonly string[]): number {
  const [command = 'help', ...rest] = argv;
  switch (command) {
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    case 'serve':
    case 'bench':
      if (rest.includes('--help')) {
        process.stdout.write(USAGE);
        return 0;
      }
      process.stderr.write(`watchcache ${command}: not yet available in this version (see the open issues).\n`);
      return 2;
    default:
      process.stderr.write(`watchcache: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

process.exitCode = main(process.argv.slice(2));
