/**
 * The scenario runner: one fresh child process per measurement (the micro-benchmarks, then each
 * scenario in each mode), one after another, so that no run inherits another's JIT state, heap,
 * worker threads or timers. Children report over IPC; a child that crashes or outlives its time
 * limit becomes a "failed" result, a mode the library does not offer an "unavailable" one.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { BenchOptions } from './options.js';
import { PROFILES } from './profiles.js';
import type { ProgressLine } from './progress.js';
import type { ChildMessage, MicroResult, ModeResult, ScenarioName } from './types.js';

const STDERR_TAIL = 4096;

/** The compiled child: next to this file in dist/bench, or there when this runs from source. */
function childScript(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const sibling = join(here, 'child.js');
  return existsSync(sibling) ? sibling : join(here, '..', 'dist', 'bench', 'child.js');
}

interface ChildOutcome {
  message: ChildMessage | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stderr: string;
  durationMs: number;
}

function runChild(args: string[], timeoutMs: number, progress: ProgressLine): Promise<ChildOutcome> {
  const start = performance.now();
  return new Promise((resolve) => {
    const child = fork(childScript(), args, { execArgv: ['--expose-gc'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let message: ChildMessage | undefined;
    let stderr = '';
    let timedOut = false;
    // benny prints its own lines on stdout; the runner reports instead.
    child.stdout?.resume();
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL);
    });
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'progress') progress.update(m.text, m.milestone);
      else message = m;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ message, code, signal, timedOut, stderr, durationMs: performance.now() - start });
    });
  });
}

function why(outcome: ChildOutcome, timeoutMs: number): string {
  if (outcome.timedOut) return `killed after the ${timeoutMs} ms time limit`;
  const how = outcome.signal === null ? `exit code ${outcome.code}` : `signal ${outcome.signal}`;
  const tail = outcome.stderr.trim().split('\n').slice(-8).join('\n');
  return `the child ended (${how}) without a result${tail === '' ? '' : `: ${tail}`}`;
}

export async function runMicroChild(options: BenchOptions, progress: ProgressLine): Promise<MicroResult> {
  const timeoutMs = PROFILES[options.profile].childTimeoutMs;
  const outcome = await runChild(['--run', 'micro', '--profile', options.profile], timeoutMs, progress);
  if (outcome.message?.type === 'micro') return outcome.message.result;
  return { status: 'failed', message: why(outcome, timeoutMs), durationMs: outcome.durationMs, suites: [] };
}

export async function runScenarioChild(scenario: ScenarioName, workers: number, options: BenchOptions, progress: ProgressLine): Promise<ModeResult> {
  const timeoutMs = PROFILES[options.profile].childTimeoutMs;
  progress.update(`[${scenario} w=${workers}] starting`, true);
  const args = ['--run', scenario, '--workers', String(workers), '--profile', options.profile];
  const outcome = await runChild(args, timeoutMs, progress);
  if (outcome.message?.type === 'result') return outcome.message.result;
  return { scenario, workers, status: 'failed', message: why(outcome, timeoutMs), durationMs: outcome.durationMs, headline: {} };
}
