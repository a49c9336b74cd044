/** Command-line options of `watchcache bench` (and `node dist/bench/index.js`). */
import { parseFlags, type FlagSpec } from '../src/command-line.js';
import { UsageError } from '../src/errors.js';
import { SYSTEMS, type SystemName } from './e2e/types.js';
import { SCENARIOS, type Profile, type ScenarioName } from './types.js';

export const USAGE = `Usage: watchcache bench [options]

Runs the micro-benchmarks, then each scenario in each mode in a fresh child process, then the
end-to-end scenario (servers, etcd, writer and watch clients as separate processes), and writes
bench/results/<timestamp>.{json,csv,html} and bench/results/latest.json.

Options:
  --quick              reduced sizes: the whole run in about 2.5 minutes on 2 cores
  --smoke              tiny sizes, to check the harness end to end (seconds)
  --scenario NAME      kubelet, selector-heavy, initial-list, window-burst, sharded, e2e or all (default); repeat or
                       separate with commas for several
  --workers LIST       dispatch worker counts to compare, e.g. 0,1,2 (default); in e2e, the
                       watchcache systems with these counts
  --systems LIST       e2e: the systems to run (default: all of them); alone, it runs only
                       e2e. Among floor, watchcache-memory-w0 (-w1, -w2),
                       watchcache-etcd-w0 (-w1, -w2), etcd-direct, etcd-grpc-proxy
  --no-micro           skip the micro-benchmarks
  --out DIR            where to write the results (default: bench/results in the package)
  --quiet              no progress line
  --help               this text
`;

export interface BenchOptions {
  profile: Profile;
  scenarios: ScenarioName[];
  /** Whether the end-to-end scenario runs (bench/e2e), and against which systems. */
  e2e: boolean;
  systems: SystemName[];
  workers: number[];
  micro: boolean;
  out: string | undefined;
  quiet: boolean;
  help: boolean;
}

const FLAGS: FlagSpec = {
  quick: { type: 'boolean' },
  smoke: { type: 'boolean' },
  scenario: { type: 'string' },
  workers: { type: 'string' },
  systems: { type: 'string' },
  'no-micro': { type: 'boolean' },
  out: { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export function parseOptions(argv: readonly string[]): BenchOptions {
  const options: BenchOptions = { profile: 'full', scenarios: [], e2e: false, systems: [...SYSTEMS], workers: [0, 1, 2], micro: true, out: undefined, quiet: false, help: false };
  let systemsSet = false;
  let profileSet = false;
  for (const { flag, value } of parseFlags(argv, FLAGS)) {
    switch (flag) {
      case '--quick':
      case '--smoke': {
        const profile = flag === '--quick' ? 'quick' : 'smoke';
        if (profileSet && options.profile !== profile) throw new UsageError('--quick and --smoke exclude each other');
        options.profile = profile;
        profileSet = true;
        break;
      }
      case '--scenario':
        for (const name of value!.split(',')) {
          if (name === 'all') {
            options.scenarios.push(...SCENARIOS);
            options.e2e = true;
          } else if (name === 'e2e') options.e2e = true;
          else if ((SCENARIOS as readonly string[]).includes(name)) options.scenarios.push(name as ScenarioName);
          else throw new UsageError(`unknown scenario ${JSON.stringify(name)}; one of ${SCENARIOS.join(', ')}, e2e, all`);
        }
        break;
      case '--workers': {
        const list = value!.split(',').map((s) => Number(s.trim()));
        if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 0 || n > 64)) {
          throw new UsageError(`--workers takes a list of counts from 0 to 64, e.g. 0,1,2`);
        }
        options.workers = [...new Set(list)];
        break;
      }
      case '--systems': {
        const list = value!.split(',').map((s) => s.trim());
        const unknown = list.filter((name) => !(SYSTEMS as readonly string[]).includes(name));
        if (unknown.length > 0) throw new UsageError(`unknown system ${JSON.stringify(unknown[0])}; one of ${SYSTEMS.join(', ')}`);
        options.systems = [...new Set(list as SystemName[])];
        systemsSet = true;
        break;
      }
      case '--no-micro':
        options.micro = false;
        break;
      case '--out':
        options.out = value;
        break;
      case '--quiet':
        options.quiet = true;
        break;
      case '--help':
        options.help = true;
        break;
      default:
        throw new UsageError(`unknown option ${JSON.stringify(flag)}`);
    }
  }
  if (options.scenarios.length === 0 && !options.e2e) {
    // --systems alone means the end-to-end scenario alone.
    if (!systemsSet) options.scenarios = [...SCENARIOS];
    options.e2e = true;
  }
  if (systemsSet && !options.e2e) throw new UsageError('--systems is for the e2e scenario (--scenario e2e)');
  // The watchcache systems follow --workers.
  options.systems = options.systems.filter((s) => !s.startsWith('watchcache-') || options.workers.includes(Number(s.slice(s.lastIndexOf('-w') + 2))));
  options.scenarios = [...new Set(options.scenarios)];
  return options;
}
