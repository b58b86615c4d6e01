// describeProcessFailure and isProcessSuccess: one message by precedence, followed by the last output.
import { describe, expect, it } from 'vitest';
import { describeProcessFailure, isProcessSuccess, type ProcessResult } from '../../../src/run/process-runner.js';

const success: ProcessResult = {
  exitCode: 0,
  signal: null,
  timedOut: false,
  durationMs: 12,
  outputTail: '',
  leftBackground: false,
  startError: null,
};

describe('describeProcessFailure', () => {
  it('names a timeout first, even when the kill left a signal and no exit code', () => {
    const result = { ...success, exitCode: null, signal: 'SIGKILL', timedOut: true, outputTail: 'migrating…' };
    expect(describeProcessFailure('hook pre-release/10-migrate', result, 30_000)).toBe(
      'hook pre-release/10-migrate timed out after 30s and was killed with its process group\n' +
        'last output:\n' +
        '  migrating…',
    );
  });

  it('names a start failure before anything else', () => {
    const result = { ...success, exitCode: null, timedOut: true, startError: '/x not found' };
    expect(describeProcessFailure('hook a', result, 1000)).toBe('hook a could not be started: /x not found\nit printed nothing');
  });

  it('names the killing signal', () => {
    const result = { ...success, exitCode: null, signal: 'SIGSEGV' };
    expect(describeProcessFailure('apply', result, 1000)).toBe('apply was killed by signal SIGSEGV\nit printed nothing');
  });

  it('names the exit code, puts the hint before the output, and shows only the last 20 lines', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
    const result = { ...success, exitCode: 7, outputTail: lines.join('\n') };
    const message = describeProcessFailure('apply command "x"', result, 1000, 'try this');
    expect(message.split('\n').slice(0, 3)).toEqual(['apply command "x" failed with exit code 7', 'try this', 'last output:']);
    expect(message.split('\n').slice(3)).toEqual(lines.slice(10).map((line) => `  ${line}`));
  });
});

describe('isProcessSuccess', () => {
  it('is true only for exit code 0 without timeout or start error', () => {
    expect(isProcessSuccess(success)).toBe(true);
    expect(isProcessSuccess({ ...success, leftBackground: true })).toBe(true);
    expect(isProcessSuccess({ ...success, exitCode: 1 })).toBe(false);
    expect(isProcessSuccess({ ...success, timedOut: true })).toBe(false);
    expect(isProcessSuccess({ ...success, exitCode: null, signal: 'SIGTERM' })).toBe(false);
    expect(isProcessSuccess({ ...success, exitCode: null, startError: 'nope' })).toBe(false);
  });
});
