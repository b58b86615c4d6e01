// runProcess against real bash fixtures: exit codes, signals, timeouts that kill the whole group, background children, floods.
import { afterEach, describe, expect, it } from 'vitest';
import { lineCutMarker } from '../../../src/run/line-splitter.js';
import {
  describeProcessFailure,
  maxLineLength,
  outputTailLength,
  runProcess,
  runShellCommand,
  type OutputStream,
  type ProcessOptions,
} from '../../../src/run/process-runner.js';
import { childPids, makeTempDir, removeTempDirs, writeScript } from './scripts.js';
import { isProcessAlive, killQuietly, liveGroupMembers } from '../../helpers/processes.js';

const baseEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
const leftovers: number[] = [];

afterEach(async () => {
  leftovers.splice(0).forEach(killQuietly);
  await removeTempDirs();
});

interface Captured {
  lines: { stream: OutputStream; line: string; at: number }[];
  texts: () => string[];
}

function capture(): Captured & { onLine: ProcessOptions['onLine'] } {
  const lines: Captured['lines'] = [];
  return {
    lines,
    texts: () => lines.map((entry) => entry.line),
    onLine: (stream, line) => lines.push({ stream, line, at: Date.now() }),
  };
}

async function runScript(body: string, overrides: Partial<ProcessOptions> = {}) {
  const dir = await makeTempDir();
  const script = await writeScript(dir, 'fixture', body);
  const output = capture();
  const result = await runProcess({
    command: [script],
    cwd: dir,
    env: baseEnv,
    timeoutMs: 10_000,
    killGraceMs: 1000,
    label: 'fixture',
    onLine: output.onLine,
    ...overrides,
  });
  return { result, output, dir };
}

describe('runProcess', () => {
  it('reports exit code 0 with stdout and stderr as labelled lines and the tail', async () => {
    const { result, output } = await runScript('echo one; echo two >&2; echo three');
    expect(result).toMatchObject({ exitCode: 0, signal: null, timedOut: false, leftBackground: false, startError: null });
    // Order across the two pipes is up to the scheduler; within each it is kept.
    const linesOf = (stream: OutputStream) => output.lines.filter((entry) => entry.stream === stream).map((e) => e.line);
    expect(linesOf('stdout')).toEqual(['one', 'three']);
    expect(linesOf('stderr')).toEqual(['two']);
    expect(result.outputTail.split('\n').sort()).toEqual(['one', 'three', 'two']);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('reports a non-zero exit code', async () => {
    const { result } = await runScript('echo failing >&2; exit 3');
    expect(result).toMatchObject({ exitCode: 3, signal: null, timedOut: false });
    expect(result.outputTail).toBe('failing');
  });

  it('flushes a last line without a newline', async () => {
    const { output } = await runScript("echo first; printf 'no newline at the end'");
    expect(output.texts()).toEqual(['first', 'no newline at the end']);
  });

  it('passes exactly the given environment and working directory', async () => {
    const { output, dir } = await runScript('echo "ONLY=$ONLY HOME=${HOME-unset}"; pwd', {
      env: { ...baseEnv, ONLY: 'given' },
    });
    expect(output.texts()).toEqual(['ONLY=given HOME=unset', dir]);
  });

  it('reports the signal that killed the process', async () => {
    const { result } = await runScript('kill -USR1 $$; sleep 5');
    expect(result).toMatchObject({ exitCode: null, signal: 'SIGUSR1', timedOut: false });
  });

  it('on timeout kills the whole process group, children included, without waiting for the grace', async () => {
    const { result, output } = await runScript(
      'sleep 300 & echo "child $!"\nsleep 300 & echo "child $!"\necho "child $$"\nsleep 300',
      { timeoutMs: 400, killGraceMs: 5000 },
    );
    const pids = childPids(output.texts());
    leftovers.push(...pids);
    expect(pids).toHaveLength(3);
    expect(result).toMatchObject({ timedOut: true, exitCode: null, signal: 'SIGTERM' });
    expect(result.durationMs).toBeGreaterThanOrEqual(400);
    expect(result.durationMs).toBeLessThan(3000);
    expect(pids.filter(isProcessAlive)).toEqual([]);
    expect(liveGroupMembers(pids[2] ?? 0)).toEqual([]);
  });

  it('SIGKILLs a group that ignores SIGTERM once the grace is over', async () => {
    const { result, output } = await runScript(
      "trap '' TERM\nsleep 300 & echo \"child $!\"\necho \"child $$\"\nwhile :; do sleep 0.05; done",
      { timeoutMs: 300, killGraceMs: 400 },
    );
    const pids = childPids(output.texts());
    leftovers.push(...pids);
    expect(result).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    expect(result.durationMs).toBeGreaterThanOrEqual(700);
    expect(pids.filter(isProcessAlive)).toEqual([]);
    expect(liveGroupMembers(pids[1] ?? 0)).toEqual([]);
  });

  it('keeps killing the group after the main process died, when a child ignoring SIGTERM holds no output', async () => {
    const { result, output } = await runScript(
      '(trap \'\' TERM; exec sleep 300) >/dev/null 2>&1 &\necho "child $!"\nsleep 300',
      { timeoutMs: 300, killGraceMs: 400 },
    );
    const pids = childPids(output.texts());
    leftovers.push(...pids);
    expect(pids).toHaveLength(1);
    expect(result).toMatchObject({ timedOut: true, signal: 'SIGTERM' });
    expect(result.durationMs).toBeGreaterThanOrEqual(700);
    expect(pids.filter(isProcessAlive)).toEqual([]);
  });

  it('returns soon after the main process exits when a background child still holds stdout', async () => {
    const { result, output } = await runScript('sleep 300 & echo "child $!"\necho done\nexit 0', {
      timeoutMs: 20_000,
    });
    const pids = childPids(output.texts());
    leftovers.push(...pids);
    expect(result).toMatchObject({ exitCode: 0, timedOut: false, leftBackground: true });
    expect(output.texts()).toContain('done');
    // The default grace is about a second, nowhere near the child's 300 s or the 20 s timeout.
    expect(result.durationMs).toBeGreaterThanOrEqual(900);
    expect(result.durationMs).toBeLessThan(4000);
    // Background children are left alone when the main process succeeded: hooks may start daemons.
    expect(pids.filter(isProcessAlive)).toEqual(pids);
  });

  it('cuts 10 MB without newlines while it streams and keeps the tail bounded', async () => {
    const { result, output } = await runScript(
      "head -c 10000000 /dev/zero | tr '\\0' x\nsleep 0.6\nprintf '\\nend\\n'",
    );
    const [cut, end, ...rest] = output.lines;
    expect(rest).toEqual([]);
    expect(cut?.line).toBe('x'.repeat(maxLineLength) + lineCutMarker);
    expect(end?.line).toBe('end');
    // The cut line was delivered while the script still slept, not accumulated until the newline came.
    expect((end?.at ?? 0) - (cut?.at ?? 0)).toBeGreaterThanOrEqual(400);
    expect(result.outputTail.length).toBeLessThanOrEqual(outputTailLength);
    expect(result.outputTail).toBe('…' + 'x'.repeat(outputTailLength - lineCutMarker.length - 5) + lineCutMarker + '\nend');
  });

  it('reports a program that cannot be started', async () => {
    const dir = await makeTempDir();
    const result = await runProcess({
      command: [`${dir}/missing-program`],
      cwd: dir,
      env: baseEnv,
      timeoutMs: 1000,
      killGraceMs: 100,
      label: 'hook pre-release/10-missing',
    });
    expect(result.startError).toContain(`${dir}/missing-program not found`);
    expect(describeProcessFailure('hook pre-release/10-missing', result, 1000)).toMatch(
      /^hook pre-release\/10-missing could not be started: .*missing-program not found/,
    );
  });

  it('reports a script that is not executable', async () => {
    const dir = await makeTempDir();
    const script = await writeScript(dir, 'plain', 'exit 0', 0o644);
    const result = await runProcess({ command: [script], cwd: dir, env: baseEnv, timeoutMs: 1000, killGraceMs: 100, label: 'x' });
    // root may execute any file with an x bit, but this one has none.
    expect(result.startError).toBe(`${script}: permission denied (is it executable, and is ${dir} searchable?)`);
  });

  it('refuses a timeout that setTimeout cannot honour, naming the label and option', async () => {
    const options = { command: ['/bin/true'], cwd: '/', env: baseEnv, killGraceMs: 0, label: 'hook pre-release/10-a' };
    expect(() => runProcess({ ...options, timeoutMs: 0 })).toThrow(
      'hook pre-release/10-a: timeoutMs must be a number of milliseconds from 1 to 2147483647, got 0',
    );
    expect(() => runProcess({ ...options, timeoutMs: 2 ** 31 })).toThrow(/timeoutMs .* got 2147483648/);
    expect(() => runProcess({ ...options, timeoutMs: 1000, killGraceMs: Number.NaN })).toThrow(/killGraceMs .* got NaN/);
    expect(() => runProcess({ ...options, timeoutMs: 1000, command: [] })).toThrow(
      'hook pre-release/10-a: the command is empty',
    );
  });
});

describe('runShellCommand', () => {
  it('runs a command line through /bin/sh -c', async () => {
    const output = capture();
    const result = await runShellCommand('echo "$((1 + 2))" | tr 3 7', {
      cwd: '/',
      env: baseEnv,
      timeoutMs: 5000,
      killGraceMs: 100,
      label: 'apply',
      onLine: output.onLine,
    });
    expect(result.exitCode).toBe(0);
    expect(output.texts()).toEqual(['7']);
  });
});
