/**
 * Child processes for the tests that drive real programs (kubectl, the Python and Ruby clients,
 * watchcache serve): start one and collect its output, run one to completion, check a program
 * is there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { bounded } from '../server/http-helpers.js';

/** Whether `path` is an executable file. */
export function executable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A started child with its output so far. */
export interface Child extends Run {
  process: ChildProcess;
  exited: Promise<number | null>;
}

export function startChild(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Child {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Child = { process: child, code: null, stdout: '', stderr: '', exited: Promise.resolve(null) };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out.stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out.stderr += d));
  out.exited = new Promise((resolve) => {
    child.once('close', (code) => resolve((out.code = code)));
    child.once('error', (err) => {
      out.stderr += String(err);
      resolve(null);
    });
  });
  return out;
}

/** Runs a program to completion, bounded; a program still running then is killed. */
export async function runChild(command: string, args: readonly string[], env?: NodeJS.ProcessEnv, ms = 60_000): Promise<Run> {
  const child = startChild(command, args, env);
  try {
    await bounded(`${command} ${args.join(' ')}`, child.exited, ms);
  } finally {
    if (child.process.exitCode === null) child.process.kill('SIGKILL');
  }
  return { code: child.code, stdout: child.stdout, stderr: child.stderr };
}


/** Waits for a started `watchcache serve` to print its "serving on" line and returns its URL. */
export async function servingUrl(server: Child, ms: number): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const match = /^watchcache serving on (https?:\/\/\S+)\n/.exec(server.stdout);
    if (match !== null) return match[1]!;
    if (server.process.exitCode !== null || Date.now() > deadline) {
      throw new Error(`watchcache serve did not start: stdout ${JSON.stringify(server.stdout)}, stderr ${JSON.stringify(server.stderr)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
