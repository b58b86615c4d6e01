// Formats the bench's results as a text table (medians with min–max, targets, met or missed) and as JSON.
import { cpus, totalmem, release as kernelRelease } from 'node:os';
import { summarize } from './measure.mjs';

/**
 * @typedef {object} Row
 * @property {string} label
 * @property {{ median: number, min: number, max: number, n: number } | number | string} value
 * @property {'ms' | 's' | 'MB' | 'x' | 'MiB' | '' } [unit]
 * @property {string} [target] the target, as the issue states it
 * @property {boolean} [met]
 */

/**
 * @typedef {object} Section
 * @property {string} id
 * @property {string} title
 * @property {Row[]} rows
 * @property {string[]} [notes]
 * @property {unknown} [raw] every figure measured, for the JSON
 */

/** A row for a list of figures: their median with min–max. */
export function figureRow(label, values, unit, target, isMet) {
  const value = summarize(values);
  return { label, value, unit, ...(target !== undefined ? { target, met: isMet(value.median) } : {}) };
}

function formatNumber(value, unit) {
  if (!Number.isFinite(value)) return String(value);
  if (unit === 'x') return `${value.toFixed(2)}×`;
  if (unit === 's') return `${(value / 1000).toFixed(2)} s`;
  if (unit === 'ms') return `${value < 100 ? value.toFixed(1) : value.toFixed(0)} ms`;
  if (unit === 'MB' || unit === 'MiB') return `${value.toFixed(1)} ${unit}`;
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

function formatValue(row) {
  const { value, unit = '' } = row;
  if (typeof value === 'string') return { median: value, range: '' };
  if (typeof value === 'number') return { median: formatNumber(value, unit), range: '' };
  const range = value.n > 1 ? `${formatNumber(value.min, unit)} – ${formatNumber(value.max, unit)}` : '';
  return { median: formatNumber(value.median, unit), range: range && `${range} (n=${value.n})` };
}

/** The whole table, one block per section. */
export function formatTable(sections) {
  const lines = [];
  const ordered = [...sections].sort((a, b) => parseInt(a.title, 10) - parseInt(b.title, 10));
  for (const section of ordered) {
    lines.push('', `${section.title}`);
    // Long text values (request patterns) go on their own: they would stretch every column.
    const formatted = section.rows.map((row) => ({ row, ...formatValue(row) }));
    const columns = formatted.filter((f) => f.median.length <= 16);
    const width = {
      label: Math.max(...section.rows.map((row) => row.label.length)),
      median: Math.max(0, ...columns.map((f) => f.median.length)),
      range: Math.max(0, ...columns.map((f) => f.range.length)),
    };
    for (const { row, median, range } of formatted) {
      const verdict = row.target === undefined ? '' : `  target ${row.target}: ${row.met ? 'met' : 'MISSED'}`;
      lines.push(`  ${row.label.padEnd(width.label)}  ${median.padStart(width.median)}  ${range.padEnd(width.range)}${verdict}`.trimEnd());
    }
    for (const note of section.notes ?? []) lines.push(`  · ${note}`);
  }
  return lines.join('\n');
}

/** What the figures came from: the machine, the Node the binary embeds, how busy the machine was. */
export function describeMachine({ embeddedNodeVersion, loadBefore, loadAfter }) {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memory_gib: Math.round(totalmem() / 1024 ** 3),
    kernel: kernelRelease(),
    embedded_node: embeddedNodeVersion,
    load_average_before: loadBefore,
    load_average_after: loadAfter,
  };
}
