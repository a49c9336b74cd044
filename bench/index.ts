/**
 * `watchcache bench`: the micro-benchmarks, then every scenario in every mode, each in a fresh
 * child process, then the end-to-end scenario (bench/e2e: its own server, store, writer and
 * client processes); then the targets, the result files and a summary on stdout. Progress goes to
 * stderr. runBench() is what the CLI calls; this file also runs on its own:
 *
 *   npm run build && node dist/bench/index.js --quick
 *
 * Exit code: 0 when every run produced a result (missed targets included: the numbers are the
 * output), 1 when a run failed or crashed, 2 for bad options.
 */
import { realpathSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runE2e } from './e2e/scenario.js';
import { machineInfo } from './machine.js';
import { UsageError } from '../src/errors.js';
import { parseOptions, USAGE, type BenchOptions } from './options.js';
import { PROFILES } from './profiles.js';
import { ProgressLine } from './progress.js';
import { writeReport } from './report.js';
import { runMicroChild, runScenarioChild } from './runner.js';
import { summaryText } from './table.js';
import { checkTargets } from './targets.js';
import type { BenchReport, ModeResult } from './types.js';

/** The package root: this file is bench/index.ts or dist/bench/index.js. */
function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.endsWith(join('dist', 'bench')) ? join(here, '..', '..') : join(here, '..');
}

export async function runBench(argv: string[]): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`watchcache bench: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  const root = packageRoot();
  const progress = new ProgressLine({ quiet: options.quiet });
  const startedAt = new Date();
  const report: BenchReport = {
    schema: 'watchcache-bench/1',
    profile: options.profile,
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    machine: machineInfo(root),
    loadAverage: { start: loadavg(), end: [] },
    options: { scenarios: options.scenarios, e2e: options.e2e, workers: options.workers, micro: options.micro },
    micro: null,
    scenarios: {},
    e2e: null,
    targets: [],
  };

  if (options.micro) report.micro = await runMicroChild(options, progress);
  let failed = report.micro?.status === 'failed';
  for (const scenario of options.scenarios) {
    const modes: Record<string, ModeResult> = {};
    report.scenarios[scenario] = modes;
    for (const workers of options.workers) {
      const result = await runScenarioChild(scenario, workers, options, progress);
      modes[String(workers)] = result;
      if (result.status === 'failed') failed = true;
      if (result.status !== 'ok') progress.update(`[${scenario} w=${workers}] ${result.status}: ${(result.message ?? '').split('\n', 1)[0]}`, true);
    }
  }
  if (options.e2e) {
    report.e2e = await runE2e({ size: PROFILES[options.profile].e2e, systems: options.systems, progress: (text, milestone) => progress.update(text, milestone) });
    if (report.e2e.systems.some((s) => s.status === 'failed')) failed = true;
  }
  progress.done();

  report.finishedAt = new Date().toISOString();
  report.loadAverage.end = loadavg();
  report.targets = checkTargets(report.scenarios, options.workers, report.e2e);
  const files = await writeReport(report, options.out === undefined ? join(root, 'bench', 'results') : resolve(options.out));
  process.stdout.write(summaryText(report));
  process.stdout.write(`\nResults: ${files.json}\n         ${files.csv}\n         ${files.html}\n         ${files.latest}\n`);
  return failed ? 1 : 0;
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  runBench(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`watchcache bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
