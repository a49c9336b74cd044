/** Command-line options of `watchcache bench` (and `node dist/bench/index.js`). */
import { parseFlags, type FlagSpec } from '../src/command-line.js';
import { UsageError } from '../src/errors.js';
import { SCENARIOS, type Profile, type ScenarioName } from './types.js';

export const USAGE = `Usage: watchcache bench [options]

Runs the micro-benchmarks, then each scenario in each mode in a fresh child process, and writes
bench/results/<timestamp>.{json,csv,html} and bench/results/latest.json.

Options:
  --quick              reduced sizes: the whole run in under 2 minutes on 2 cores
  --smoke              tiny sizes, to check the harness end to end (seconds)
  --scenario NAME      kubelet, selector-heavy, initial-list or all (default); repeat or
                       separate with commas for several
  --workers LIST       dispatch worker counts to compare, e.g. 0,1,2 (default)
  --no-micro           skip the micro-benchmarks
  --out DIR            where to write the results (default: bench/results in the package)
  --quiet              no progress line
  --help               this text
`;

export interface BenchOptions {
  profile: Profile;
  scenarios: ScenarioName[];
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
  'no-micro': { type: 'boolean' },
  out: { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export function parseOptions(argv: readonly string[]): BenchOptions {
  const options: BenchOptions = { profile: 'full', scenarios: [], workers: [0, 1, 2], micro: true, out: undefined, quiet: false, help: false };
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
          if (name === 'all') options.scenarios.push(...SCENARIOS);
          else if ((SCENARIOS as readonly string[]).includes(name)) options.scenarios.push(name as ScenarioName);
          else throw new UsageError(`unknown scenario ${JSON.stringify(name)}; one of ${SCENARIOS.join(', ')}, all`);
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
  if (options.scenarios.length === 0) options.scenarios = [...SCENARIOS];
  options.scenarios = [...new Set(options.scenarios)];
  return options;
}
