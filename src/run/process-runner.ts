// Runs one child process in its own process group: output as lines, a bounded tail, timeout with TERM → KILL of the group.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { formatDuration } from '../log/format-duration.js';
import { LineSplitter } from './line-splitter.js';
import { OutputTail } from './output-tail.js';
import { terminateProcessGroup } from './process-group.js';

export type OutputStream = 'stdout' | 'stderr';

export interface ProcessOptions {
  /** Program and arguments; no shell. */
  command: readonly string[];
  cwd: string;
  /** The complete environment of the child: it is not merged with process.env. */
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Time between SIGTERM and SIGKILL to the group when the timeout hits. */
  killGraceMs: number;
  /** What runs, for messages: `hook pre-release/10-migrate`. */
  label: string;
  onLine?: (stream: OutputStream, line: string) => void;
  /** How long to keep reading after the main process exited while a background child still holds its output. */
  backgroundGraceMs?: number;
}

export interface ProcessResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  /** The last few KB of stdout and stderr, interleaved as lines arrived. */
  outputTail: string;
  /** The main process exited but something it started kept the output open; we stopped reading. */
  leftBackground: boolean;
  /** Why the program could not be started at all, or null. */
  startError: string | null;
}

export const defaultBackgroundGraceMs = 1000;
export const maxLineLength = 16 * 1024;
export const outputTailLength = 8 * 1024;
/** The largest delay setTimeout honours; anything above fires at once. */
const maxTimerMs = 2 ** 31 - 1;
const failureOutputLines = 20;

export function runProcess(options: ProcessOptions): Promise<ProcessResult> {
  validateProcessOptions(options);
  const [program = '', ...args] = options.command;
  const backgroundGraceMs = options.backgroundGraceMs ?? defaultBackgroundGraceMs;
  const started = performance.now();
  const tail = new OutputTail(outputTailLength);

  return new Promise((resolve) => {
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const streams: Readable[] = [child.stdout, child.stderr];
    let exitCode: number | null = null;
    let signal: string | null = null;
    let exited = false;
    let timedOut = false;
    let killing = false;
    let leftBackground = false;
    let startError: string | null = null;
    let openStreams = streams.length;
    let backgroundTimer: NodeJS.Timeout | undefined;
    let finished = false;
    const timeoutTimer = setTimeout(onTimeout, options.timeoutMs);

    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timeoutTimer);
      clearTimeout(backgroundTimer);
      for (const stream of streams) stream.destroy();
      resolve({
        exitCode,
        signal,
        timedOut,
        durationMs: Math.round(performance.now() - started),
        outputTail: tail.text(),
        leftBackground,
        startError,
      });
    };

    const settle = (): void => {
      if (finished || !exited || killing) return;
      if (openStreams === 0) return finish();
      // Something the process started still holds the pipes: give it a moment, then stop reading so we never hang.
      backgroundTimer ??= setTimeout(() => {
        leftBackground = true;
        for (const stream of streams) stream.destroy();
      }, backgroundGraceMs);
    };

    const readLines = (stream: Readable, name: OutputStream): void => {
      const splitter = new LineSplitter(maxLineLength, (line) => {
        tail.push(line);
        options.onLine?.(name, line);
      });
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => splitter.write(text));
      stream.on('close', () => {
        splitter.flush();
        openStreams -= 1;
        settle();
      });
    };
    readLines(child.stdout, 'stdout');
    readLines(child.stderr, 'stderr');

    child.on('error', (error) => {
      // After a successful start only kill() and send() report errors here, and neither is used.
      if (child.pid !== undefined) return;
      startError = describeStartError(program, options.cwd, error);
      finish();
    });

    child.on('exit', (code, exitSignal) => {
      exitCode = code;
      signal = exitSignal;
      exited = true;
      settle();
    });

    function onTimeout(): void {
      const pgid = child.pid;
      if (pgid === undefined) return;
      timedOut = true;
      killing = true;
      // The leader may already be gone while its children live on: the group is killed either way.
      void terminateProcessGroup(pgid, options.killGraceMs).finally(() => {
        killing = false;
        settle();
      });
    }
  });
}

/** Runs a command line from the configuration through `/bin/sh -c`. */
export function runShellCommand(commandLine: string, options: Omit<ProcessOptions, 'command'>): Promise<ProcessResult> {
  return runProcess({ ...options, command: ['/bin/sh', '-c', commandLine] });
}

export function isProcessSuccess(result: ProcessResult): boolean {
  return result.startError === null && !result.timedOut && result.exitCode === 0;
}

/**
 * One message for a failed run, by precedence: could not start, timed out, killed by a signal, exit code;
 * then the hint, if any, and the last lines of output.
 */
export function describeProcessFailure(label: string, result: ProcessResult, timeoutMs: number, hint?: string): string {
  const lines = [describeFailureCause(label, result, timeoutMs)];
  if (hint !== undefined) lines.push(hint);
  if (result.outputTail === '') {
    lines.push('it printed nothing');
  } else {
    const lastLines = result.outputTail.split('\n').slice(-failureOutputLines);
    lines.push('last output:', ...lastLines.map((line) => `  ${line}`));
  }
  return lines.join('\n');
}

function describeFailureCause(label: string, result: ProcessResult, timeoutMs: number): string {
  if (result.startError !== null) return `${label} could not be started: ${result.startError}`;
  if (result.timedOut) {
    return `${label} timed out after ${formatDuration(timeoutMs)} and was killed with its process group`;
  }
  if (result.signal !== null) return `${label} was killed by signal ${result.signal}`;
  if (result.exitCode !== null) return `${label} failed with exit code ${result.exitCode}`;
  return `${label} failed`;
}

function describeStartError(program: string, cwd: string, error: Error): string {
  const code = 'code' in error ? error.code : undefined;
  if (code === 'ENOENT') {
    return `${program} not found (the program, its #! interpreter or the working directory ${cwd} does not exist)`;
  }
  if (code === 'EACCES') return `${program}: permission denied (is it executable, and is ${cwd} searchable?)`;
  return `${program}: ${error.message}`;
}

function validateProcessOptions(options: ProcessOptions): void {
  if (options.command.length === 0 || options.command[0] === '') {
    throw new TypeError(`${options.label}: the command is empty`);
  }
  requireDelay(options.label, 'timeoutMs', options.timeoutMs, 1);
  requireDelay(options.label, 'killGraceMs', options.killGraceMs, 0);
  if (options.backgroundGraceMs !== undefined) {
    requireDelay(options.label, 'backgroundGraceMs', options.backgroundGraceMs, 0);
  }
}

function requireDelay(label: string, name: string, value: number, minimum: number): void {
  if (!Number.isFinite(value) || value < minimum || value > maxTimerMs) {
    throw new RangeError(
      `${label}: ${name} must be a number of milliseconds from ${minimum} to ${maxTimerMs}, got ${String(value)}`,
    );
  }
}
