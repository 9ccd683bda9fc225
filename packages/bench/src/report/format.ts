import type { Summary } from '../harness/stats';

/** A number with precision that suits its size. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

/** `median (min–max)`. */
export function formatSummary(summary: Summary, unit = ''): string {
  if (summary.runs === 1) return `${formatNumber(summary.median)}${unit}`;
  return `${formatNumber(summary.median)}${unit} (${formatNumber(summary.min)}–${formatNumber(summary.max)})`;
}

/** A ratio as `1.23x (1.10–1.40)`. */
export function formatRatio(summary: Summary): string {
  const ratio = (value: number) => `${value.toFixed(2)}x`;
  if (summary.runs === 1) return ratio(summary.median);
  return `${ratio(summary.median)} (${ratio(summary.min)}–${ratio(summary.max)})`;
}

/** A Markdown table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** `1,000`. */
export function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

/** Bytes in a mebibyte. */
export const MiB = 1024 * 1024;

/** A ratio below 1 as a percentage, with its range. */
export function formatPercent(summary: Summary): string {
  const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
  return `${percent(summary.median)} (${percent(summary.min)}–${percent(summary.max)})`;
}

/** A byte count in MiB from one MiB up, in KiB below. */
export function formatBytes(bytes: number): string {
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(2)} MiB`;
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
