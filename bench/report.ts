/**
 * The result files: <stamp>.json (everything), <stamp>.csv (one row per measured thing),
 * <stamp>.html (charts) and latest.json, all in one directory.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toHtml } from './chart.js';
import { toCsv } from './csv.js';
import type { BenchReport } from './types.js';

export interface WrittenFiles {
  json: string;
  csv: string;
  html: string;
  latest: string;
}

/** 2025-01-31T12-34-56-789Z: sortable, and valid in a file name everywhere. */
export function fileStamp(date: Date): string {
  return date.toISOString().replace(/[:.]/g, '-');
}

export async function writeReport(report: BenchReport, dir: string): Promise<WrittenFiles> {
  await mkdir(dir, { recursive: true });
  const stamp = fileStamp(new Date(report.startedAt));
  const files: WrittenFiles = {
    json: join(dir, `${stamp}.json`),
    csv: join(dir, `${stamp}.csv`),
    html: join(dir, `${stamp}.html`),
    latest: join(dir, 'latest.json'),
  };
  const json = `${JSON.stringify(report, null, 2)}\n`;
  await writeFile(files.json, json);
  await writeFile(files.csv, toCsv(report));
  await writeFile(files.html, toHtml(report));
  await writeFile(files.latest, json);
  return files;
}
