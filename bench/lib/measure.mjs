// Runs commands as child processes and measures them: wall time, and with GNU time their peak RSS, CPU and bytes dirtied; plus summary statistics.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const gnuTime = '/usr/bin/time';

/**
 * @typedef {object} Measured
 * @property {number} ms wall time from spawn to exit, as the parent sees it
 * @property {number | null} code
 * @property {string} stdout
 * @property {string} stderr
 * @property {number | undefined} rssKb peak resident set of the process (and of the children it waited for), with `rusage`
 * @property {number | undefined} userS
 * @property {number | undefined} sysS
 * @property {number | undefined} writtenBytes bytes the process dirtied in the page cache (ru_oublock × 512), with `rusage`
 */

/**
 * Runs `program args`. With `rusage`, under GNU time (its report goes to a file, not the command's stderr);
 * the few hundred microseconds that adds are paid by both sides of every comparison that uses it.
 * @returns {Promise<Measured>}
 */
export async function measure(program, args, { env = process.env, rusage = false, timeoutMs = 600_000 } = {}) {
  let reportDir;
  let command = [program, ...args];
  if (rusage) {
    reportDir = await mkdtemp(join(tmpdir(), 'pulldeploy-bench-time-'));
    command = [gnuTime, '-o', join(reportDir, 'report'), '-f', '%M %U %S %O', program, ...args];
  }
  try {
    const result = await new Promise((resolve, reject) => {
      const started = process.hrtime.bigint();
      const child = spawn(command[0], command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-20_000)));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('error', reject);
      child.once('exit', () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        child.once('close', (code) => {
          clearTimeout(timer);
          resolve({ ms, code, stdout, stderr });
        });
      });
    });
    if (!rusage) return result;
    const report = (await readFile(join(reportDir, 'report'), 'utf8')).trim().split('\n').pop() ?? '';
    const [rssKb, userS, sysS, blocksOut] = report.split(' ').map(Number);
    return { ...result, rssKb, userS, sysS, writtenBytes: blocksOut * 512 };
  } finally {
    if (reportDir) await rm(reportDir, { recursive: true, force: true });
  }
}

/** Fails loudly when a measured command did not succeed: a figure from a failed run is no figure. */
export function expectSuccess(what, result) {
  if (result.code !== 0) {
    throw new Error(`${what} exited ${result.code}:\n${result.stderr.trim().split('\n').slice(-15).join('\n')}`);
  }
  return result;
}

/** Median, min and max of a list of numbers. */
export function summarize(values) {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], n: sorted.length };
}

/** The p-th percentile (nearest rank) of a list. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * Runs the commands of `sides` in turn, `rounds` times, alternating which goes first each round, so load
 * that drifts during the run falls on every side alike. `sides` maps a name to an async function returning
 * a number (a figure of one run); `onRound(round, figuresOfThatRound)` follows each round.
 * Resolves with every side's figures, in round order.
 */
export async function alternate(rounds, sides, onRound = () => undefined) {
  const names = Object.keys(sides);
  const figures = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) figures[name].push(await sides[name](round));
    onRound(round, Object.fromEntries(names.map((name) => [name, figures[name][round]])));
  }
  return figures;
}

/**
 * Like `alternate`, for one baseline against many sides: each round runs `groups` in turn, each group being
 * the baseline then some sides (reversed on odd rounds), so every side runs right next to a baseline run.
 * Resolves with each side's figures and its ratios to the baseline run of its own group; the baseline's
 * figures are every baseline run.
 */
export async function alternateInGroups(rounds, baseline, groups, sides, onRound = () => undefined) {
  const figures = { [baseline]: [] };
  const ratioOf = {};
  for (const name of groups.flat()) {
    figures[name] = [];
    ratioOf[name] = [];
  }
  for (let round = 0; round < rounds; round++) {
    const ofRound = {};
    for (const group of groups) {
      const order = round % 2 === 0 ? [baseline, ...group] : [...group, baseline];
      const measured = {};
      for (const name of order) measured[name] = await sides[name](round);
      figures[baseline].push(measured[baseline]);
      for (const name of group) {
        figures[name].push(measured[name]);
        ratioOf[name].push(measured[name] / measured[baseline]);
        ofRound[name] = measured[name];
      }
      ofRound[`${baseline} (${group[0]})`] = measured[baseline];
    }
    onRound(round, ofRound);
  }
  return { figures, ratios: ratioOf };
}

/** Per-round ratios a[i] / b[i]: each compares two runs made moments apart. */
export function ratios(a, b) {
  return a.map((value, i) => value / b[i]);
}

/** The load average now, to show how busy the machine was while measuring. */
export async function loadAverage() {
  return (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).map(Number);
}
