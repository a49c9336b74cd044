/**
 * CPU and memory of other processes, from /proc: utime + stime of /proc/PID/stat (every thread
 * of the process, in clock ticks of 10 ms), VmRSS and VmHWM of /proc/PID/status. Linux only; null
 * elsewhere or for a process that is gone.
 */
import { readFileSync } from 'node:fs';

/** USER_HZ: 100 on every Linux the benchmark runs on (sysconf(_SC_CLK_TCK) is not reachable from Node). */
const TICK_MS = 10;

export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) may hold spaces: count fields from after its closing paren.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return null;
  }
}

export interface Memory {
  rssMiB: number;
  peakRssMiB: number;
}

export function processMemory(pid: number): Memory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const kib = (name: string): number => Number(/(\d+)\s*kB/.exec(status.slice(status.indexOf(`${name}:`)))?.[1] ?? Number.NaN);
    return { rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** Sum of the CPU of several processes, ms; null if any cannot be read. */
export function sumCpuMs(pids: readonly number[]): number | null {
  let total = 0;
  for (const pid of pids) {
    const ms = processCpuMs(pid);
    if (ms === null) return null;
    total += ms;
  }
  return total;
}
