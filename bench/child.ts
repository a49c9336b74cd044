/**
 * The child process of one measurement: the micro-benchmarks, or one scenario in one mode. The
 * runner forks a fresh one per run (with --expose-gc), so that JIT state, heap and leftover
 * timers of one mode cannot leak into the next. It reports over IPC and exits.
 *
 *   node --expose-gc dist/bench/child.js --run kubelet --workers 1 --profile quick
 */
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { parseFlags, type FlagSpec } from '../src/command-line.js';
import { headline } from './headline.js';
import { runMicro } from './micro.js';
import { PROFILES } from './profiles.js';
import { initialList } from './scenarios/initial-list.js';
import { kubelet } from './scenarios/kubelet.js';
import { ModeUnavailable, type ScenarioContext } from './scenarios/context.js';
import { selectorHeavy } from './scenarios/selector-heavy.js';
import { windowBurst } from './scenarios/window-burst.js';
import { sharded } from './scenarios/sharded.js';
import { SCENARIOS, type ChildMessage, type ModeResult, type Profile, type ScenarioDetail, type ScenarioName } from './types.js';

const RUNNERS: Record<ScenarioName, (ctx: ScenarioContext) => Promise<ScenarioDetail>> = {
  kubelet,
  'selector-heavy': selectorHeavy,
  'initial-list': initialList,
  'window-burst': windowBurst,
  sharded,
};

/** Progress updates at most this often; milestones always go out. */
const PROGRESS_MS = 200;

/** What the runner passes (bench/runner.ts), read by the one command-line parser. */
const CHILD_FLAGS = { run: { type: 'string' }, profile: { type: 'string' }, workers: { type: 'string' } } as const satisfies FlagSpec;

function args(argv: readonly string[]): (name: keyof typeof CHILD_FLAGS) => string {
  const values = new Map<string, string>();
  for (const flag of parseFlags(argv, CHILD_FLAGS)) values.set(flag.name, flag.value!);
  return (name) => {
    const value = values.get(name);
    if (value === undefined) throw new Error(`bench child: missing --${name}`);
    return value;
  };
}

function send(message: ChildMessage): Promise<void> {
  if (process.send === undefined) {
    process.stdout.write(`${JSON.stringify(message)}\n`);
    return Promise.resolve();
  }
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

async function main(argv: readonly string[]): Promise<void> {
  const arg = args(argv);
  const run = arg('run');
  const profile = arg('profile') as Profile;
  const sizes = PROFILES[profile];
  if (sizes === undefined) throw new Error(`bench child: unknown profile ${profile}`);
  let lastProgress = 0;
  const progress = (text: string, milestone = false): void => {
    const now = performance.now();
    if (!milestone && now - lastProgress < PROGRESS_MS) return;
    lastProgress = now;
    void send({ type: 'progress', text, milestone });
  };

  if (run === 'micro') {
    const start = performance.now();
    try {
      await send({ type: 'micro', result: await runMicro(sizes.micro, progress) });
    } catch (err) {
      await send({ type: 'micro', result: { status: 'failed', message: describe(err), durationMs: performance.now() - start, suites: [] } });
    }
    return;
  }

  if (!(SCENARIOS as readonly string[]).includes(run)) throw new Error(`bench child: unknown scenario ${run}`);
  const scenario = run as ScenarioName;
  const workers = Number(arg('workers'));
  const start = performance.now();
  const base = { scenario, workers };
  let result: ModeResult;
  try {
    const detail = await RUNNERS[scenario]({ sizes, workers, progress });
    result = { ...base, status: 'ok', durationMs: performance.now() - start, headline: headline(detail), detail };
  } catch (err) {
    const status = err instanceof ModeUnavailable ? 'unavailable' : 'failed';
    result = { ...base, status, message: describe(err), durationMs: performance.now() - start, headline: {} };
  }
  await send({ type: 'result', result });
}

function describe(err: unknown): string {
  if (err instanceof ModeUnavailable) return err.message;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

main(process.argv.slice(2)).then(
  // Exit explicitly: a mode that failed half-way may leave timers or workers behind.
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${describe(err)}\n`);
    process.exit(1);
  },
);
