// The state file (DESIGN.md §3, §4 step 11): last run, history, and the pointers last deployed, versioned and written atomically.
import { readFile } from 'node:fs/promises';
import { UsageError, describeError } from '../errors.js';
import type { Pointer } from '../artifacts/pointer.js';
import type { Grains } from '../identity/grains.js';
import { writeFileAtomic } from '../release/durable.js';
import { errorCode } from '../errors.js';

export const stateFormat = 1;
export const historyLimit = 20;

export const runCommands = ['deploy', 'check', 'rollback', 'register', 'deregister', 'prune'] as const;
export type RunCommand = (typeof runCommands)[number];

export interface StepRecord {
  name: string;
  started_at: string;
  duration_ms: number;
  outcome: 'ok' | 'failed' | 'skipped';
  detail?: string;
}

export interface RunRecord {
  id: string;
  command: RunCommand;
  started_at: string;
  finished_at: string;
  outcome: 'success' | 'failed';
  exit_code: number;
  failed_step?: string;
  error?: string;
  grains?: Grains;
  versions: {
    service?: { current?: string; previous?: string };
    base?: { current?: string; previous?: string };
  };
  steps: StepRecord[];
}

/** What was last deployed from a pointer; `etag` makes the next read a conditional GET. */
export interface PointerRecord {
  etag?: string;
  version: string;
  sha256: string;
  /** The pointer as read, so a check that finds it unchanged still knows its signature and canary. */
  pointer?: Pointer;
}

export interface State {
  format: typeof stateFormat;
  last_run?: RunRecord;
  /** Newest first, at most `historyLimit`. */
  history: RunRecord[];
  /** Keyed by service name (the base service included). */
  pointers: Record<string, PointerRecord>;
}

export function emptyState(): State {
  return { format: stateFormat, history: [], pointers: {} };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isRunRecord(value: unknown): value is RunRecord {
  return (
    isObject(value) &&
    typeof value.id === 'string' &&
    runCommands.some((command) => command === value.command) &&
    typeof value.started_at === 'string' &&
    (value.outcome === 'success' || value.outcome === 'failed') &&
    typeof value.exit_code === 'number' &&
    isObject(value.versions) &&
    Array.isArray(value.steps)
  );
}

function isPointerRecord(value: unknown): value is PointerRecord {
  return isObject(value) && typeof value.version === 'string' && typeof value.sha256 === 'string';
}

/** Names what is wrong with a parsed state file, or undefined when it is usable. */
function findProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'it is not a JSON object';
  if (value.format !== stateFormat) {
    return `it has format ${JSON.stringify(value.format)} but this pulldeploy reads format ${stateFormat} (written by another version?)`;
  }
  if (value.last_run !== undefined && !isRunRecord(value.last_run)) return '"last_run" is not a run record';
  if (!Array.isArray(value.history) || !value.history.every(isRunRecord)) return '"history" is not a list of run records';
  if (!isObject(value.pointers) || !Object.values(value.pointers).every(isPointerRecord)) {
    return '"pointers" is not a map of service to { version, sha256 }';
  }
  return undefined;
}

function unusableStateError(path: string, problem: string): UsageError {
  return new UsageError(
    `state file ${path} cannot be used: ${problem}. Move it aside (mv ${path} ${path}.bad) and run again; ` +
      `pulldeploy then starts a fresh one and deploys what the pointers name`,
  );
}

/** The state at `path`; an empty state when the file does not exist yet. */
export async function readState(path: string): Promise<State> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return emptyState();
    throw new UsageError(`cannot read state file ${path}: ${describeError(error)}`, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw unusableStateError(path, `it is not valid JSON (${describeError(error)})`);
  }
  const problem = findProblem(value);
  if (problem !== undefined) throw unusableStateError(path, problem);
  return value as State;
}

/** Writes the whole state so a crash leaves either the old file or the new one (parent directories created). */
export async function writeState(path: string, state: State): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(state, null, 2) + '\n');
}

/** The state with `run` as the last run and first in the history, the history cut to `historyLimit`. */
export function recordRun(state: State, run: RunRecord): State {
  return { ...state, last_run: run, history: [run, ...state.history].slice(0, historyLimit) };
}
