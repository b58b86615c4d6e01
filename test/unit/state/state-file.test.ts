// Tests for state.json: round trip, bounded history, clear errors for unusable files, atomic replacement.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { emptyState, historyLimit, readState, recordRun, writeState, type RunRecord, type State } from '../../../src/state/state-file.js';
import { sampleGrains } from '../../helpers/grains.js';

let dir: string;
let statePath: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pulldeploy-state-'));
  statePath = join(dir, 'var', 'lib', 'pulldeploy', 'state.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(id: string, overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    command: 'deploy',
    started_at: '2026-11-22T03:00:00.000Z',
    finished_at: '2026-11-22T03:00:05.000Z',
    outcome: 'success',
    exit_code: 0,
    versions: { service: { current: 'v2', previous: 'v1' }, base: { current: 'b1' } },
    steps: [{ name: 'lock', started_at: '2026-11-22T03:00:00.000Z', duration_ms: 3, outcome: 'ok' }],
    ...overrides,
  };
}

const failedRun = run('r-failed', {
  outcome: 'failed',
  exit_code: 1,
  failed_step: 'pre-release hooks',
  error: 'hook 10-migrate exited with 3',
  grains: sampleGrains,
  steps: [
    { name: 'lock', started_at: '2026-11-22T03:00:00.000Z', duration_ms: 3, outcome: 'ok' },
    { name: 'pre-release hooks', started_at: '2026-11-22T03:00:01.000Z', duration_ms: 900, outcome: 'failed', detail: 'exit 3' },
    { name: 'register', started_at: '2026-11-22T03:00:02.000Z', duration_ms: 0, outcome: 'skipped' },
  ],
});

describe('readState', () => {
  it('returns an empty state when the file does not exist', async () => {
    expect(await readState(statePath)).toEqual({ format: 1, history: [], pointers: {} });
  });

  it('names the file, the problem and the fix for invalid JSON', async () => {
    await mkdir(join(dir, 'var', 'lib', 'pulldeploy'), { recursive: true });
    await writeFile(statePath, '{"format": 1, "history": [');
    const error = await readState(statePath).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(
      new RegExp(
        `^state file ${statePath} cannot be used: it is not valid JSON \\(.+\\)\\. Move it aside \\(mv ${statePath} ${statePath}\\.bad\\) and run again; ` +
          'pulldeploy then starts a fresh one and deploys what the pointers name$',
      ),
    );
  });

  it('refuses another format version', async () => {
    await writeState(statePath, emptyState());
    await writeFile(statePath, JSON.stringify({ format: 2, history: [], pointers: {} }));
    await expect(readState(statePath)).rejects.toThrow(
      `state file ${statePath} cannot be used: it has format 2 but this pulldeploy reads format 1 (written by another version?). Move it aside`,
    );
  });

  it('refuses a file without a format', async () => {
    await writeState(statePath, emptyState());
    await writeFile(statePath, JSON.stringify({ history: [], pointers: {} }));
    await expect(readState(statePath)).rejects.toThrow('it has format undefined but this pulldeploy reads format 1');
  });

  it.each([
    ['[]', 'it is not a JSON object'],
    ['{"format":1,"history":{},"pointers":{}}', '"history" is not a list of run records'],
    ['{"format":1,"history":[{"id":"x"}],"pointers":{}}', '"history" is not a list of run records'],
    ['{"format":1,"history":[],"pointers":{"myapp":{"version":"v1"}}}', '"pointers" is not a map of service to { version, sha256 }'],
    ['{"format":1,"history":[],"pointers":{},"last_run":"yesterday"}', '"last_run" is not a run record'],
  ])('refuses the malformed state %s', async (content, problem) => {
    await writeState(statePath, emptyState());
    await writeFile(statePath, content);
    await expect(readState(statePath)).rejects.toThrow(`state file ${statePath} cannot be used: ${problem}. Move it aside`);
  });

  it('refuses a run record with an unknown command', async () => {
    await writeState(statePath, { ...emptyState(), history: [run('a')] });
    const text = (await readFile(statePath, 'utf8')).replace('"deploy"', '"dance"');
    await writeFile(statePath, text);
    await expect(readState(statePath)).rejects.toThrow('"history" is not a list of run records');
  });

  it('says when the file cannot be read at all', async () => {
    await mkdir(statePath, { recursive: true });
    await expect(readState(statePath)).rejects.toThrow(`cannot read state file ${statePath}: EISDIR`);
  });
});

describe('writeState', () => {
  it('round-trips a full state, creating missing directories', async () => {
    const state: State = {
      ...recordRun(recordRun(emptyState(), run('r-ok')), failedRun),
      pointers: {
        myapp: { etag: '"abc"', version: 'v2', sha256: 'a'.repeat(64) },
        base: { version: 'b1', sha256: 'b'.repeat(64) },
      },
    };
    await writeState(statePath, state);
    expect(await readState(statePath)).toEqual(state);
  });

  it('writes readable JSON ending in a newline', async () => {
    await writeState(statePath, emptyState());
    expect(await readFile(statePath, 'utf8')).toBe('{\n  "format": 1,\n  "history": [],\n  "pointers": {}\n}\n');
  });

  it('leaves no temp files behind', async () => {
    for (let i = 0; i < 5; i += 1) await writeState(statePath, recordRun(emptyState(), run(`r${i}`)));
    expect(await readdir(join(dir, 'var', 'lib', 'pulldeploy'))).toEqual(['state.json']);
  });

  it('never shows a reader a partly written file', async () => {
    const big = (id: string): State => ({
      ...emptyState(),
      history: Array.from({ length: historyLimit }, (_, i) => run(`${id}-${i}`, { error: 'x'.repeat(2000) })),
    });
    await writeState(statePath, big('first'));
    let writing = true;
    const writer = (async () => {
      for (let i = 0; i < 100; i += 1) await writeState(statePath, big(`w${i}`));
      writing = false;
    })();
    const problems: string[] = [];
    let reads = 0;
    while (writing) {
      try {
        const state = await readState(statePath);
        if (state.history.length !== historyLimit) problems.push(`history of ${state.history.length}`);
      } catch (error) {
        problems.push(String(error));
      }
      reads += 1;
    }
    await writer;
    expect(problems).toEqual([]);
    expect(reads).toBeGreaterThan(10);
  });
});

describe('recordRun', () => {
  it('sets the last run and puts it first in the history without changing the given state', () => {
    const before = recordRun(emptyState(), run('first'));
    const after = recordRun(before, failedRun);
    expect(after.last_run).toBe(failedRun);
    expect(after.history.map((record) => record.id)).toEqual(['r-failed', 'first']);
    expect(before.history.map((record) => record.id)).toEqual(['first']);
    expect(before.last_run?.id).toBe('first');
  });

  it('keeps the pointers', () => {
    const state: State = { ...emptyState(), pointers: { myapp: { version: 'v1', sha256: 'c'.repeat(64) } } };
    expect(recordRun(state, run('x')).pointers).toEqual(state.pointers);
  });

  it('bounds the history to the newest 20 runs', () => {
    let state = emptyState();
    for (let i = 1; i <= 25; i += 1) state = recordRun(state, run(`r${i}`));
    expect(historyLimit).toBe(20);
    expect(state.history).toHaveLength(20);
    expect(state.history[0]?.id).toBe('r25');
    expect(state.history[19]?.id).toBe('r6');
  });
});
