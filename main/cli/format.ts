/** Words for people: times, durations and account lines. */
import { formatDuration } from '../core/keeper-state.js';

export function formatTime(ms: number | undefined, now = Date.now()): string {
  if (ms === undefined) return 'never';
  const delta = ms - now;
  const when = new Date(ms).toLocaleString();
  return delta >= 0 ? `${when} (in ${formatDuration(delta)})` : `${when} (${formatDuration(-delta)} ago)`;
}

export function table(rows: string[][]): string {
  const widths = rows.reduce<number[]>(
    (w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)),
    [],
  );
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
    .join('\n');
}
