/**
 * Where the reliability suites leave their figures: `test-results/reliability/<suite>.json`
 * (gitignored). The README's Reliability section quotes the last run of these files.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const REPORT_DIR = join(REPO_ROOT, 'test-results', 'reliability');

/** Writes `data` (plus when it was written) as pretty JSON; returns the file's path. */
export async function writeReport(suite: string, data: unknown): Promise<string> {
  await mkdir(REPORT_DIR, { recursive: true });
  const file = join(REPORT_DIR, `${suite}.json`);
  await writeFile(
    file,
    `${JSON.stringify({ suite, finishedAt: new Date().toISOString(), ...(data as object) }, null, 2)}\n`,
  );
  return file;
}
