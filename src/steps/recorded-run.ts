// The frame of every run that changes the host: lock, the steps, then state.json written whatever happened.
import { randomUUID } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { UsageError, describeError, isPulldeployError } from '../errors.js';
import type { Grains } from '../identity/grains.js';
import { agentPaths } from '../release/layout.js';
import { acquireLock } from '../state/lock.js';
import {
  readState,
  recordRun,
  writeState,
  type PointerRecord,
  type RunCommand,
  type RunRecord,
  type State,
} from '../state/state-file.js';
import { createStepRecorder, type StepRecorder } from '../state/step-recorder.js';
import type { Ports } from './context.js';

/** What the run's body learns as it goes, for the record. */
export interface RunNotes {
  grains?: Grains;
  versions: RunRecord['versions'];
  /** Pointers deployed by a successful run, for the next check's conditional reads. */
  pointers: Record<string, PointerRecord>;
}

export interface RecordedRunOptions {
  command: RunCommand;
  root: string;
  config: Config;
  ports: Ports;
  /** Wait up to lock_timeout for another run (deploy), or exit busy at once (check). */
  waitForLock: boolean;
  body: (session: { steps: StepRecorder; state: State; notes: RunNotes }) => Promise<void>;
  /** Work after the success is on disk, whose failure must not undo it (pruning). */
  afterRecord?: (steps: StepRecorder) => Promise<void>;
}

export async function recordedRun(options: RecordedRunOptions): Promise<RunRecord> {
  const { config, ports } = options;
  const { logger } = ports;
  const agent = agentPaths(options.root);
  const steps = createStepRecorder(logger, ports.now);
  const startedAt = ports.now();
  const id = randomUUID();
  const notes: RunNotes = { versions: {}, pointers: {} };

  const finish = (outcome: RunRecord['outcome'], exitCode: number, error?: unknown): RunRecord => ({
    id,
    command: options.command,
    started_at: startedAt.toISOString(),
    finished_at: ports.now().toISOString(),
    outcome,
    exit_code: exitCode,
    ...(steps.failedStep ? { failed_step: steps.failedStep } : {}),
    ...(error !== undefined ? { error: describeError(error) } : {}),
    ...(notes.grains ? { grains: notes.grains } : {}),
    versions: notes.versions,
    steps: steps.steps,
  });
  const withRun = (state: State, run: RunRecord): State => {
    const recorded = recordRun(state, run);
    return { ...recorded, pointers: { ...recorded.pointers, ...notes.pointers } };
  };

  const lock = await steps.run('lock', () =>
    acquireLock({
      path: agent.lockFile,
      wait: options.waitForLock,
      timeoutMs: config.lock_timeout * 1000,
      logger,
      command: options.command,
    }),
  );
  let state: State | undefined;
  try {
    state = await readState(agent.stateFile);
    await options.body({ steps, state, notes });
    const before = state;
    await steps.run('record', () => writeState(agent.stateFile, withRun(before, finish('success', 0))));
    if (options.afterRecord) {
      await options.afterRecord(steps);
      // The success is on disk already; this rewrite only adds the timings of the steps after it.
      try {
        await writeState(agent.stateFile, withRun(before, finish('success', 0)));
      } catch (error) {
        logger.warn(`could not add the last step timings to ${agent.stateFile}: ${describeError(error)}`);
      }
    }
    return finish('success', 0);
  } catch (error) {
    notes.pointers = {};
    const run = finish('failed', isPulldeployError(error) ? error.exitCode : 1, error);
    // A state file that could not be read is left as it is for a person to look at, never overwritten.
    if (state !== undefined) {
      try {
        await writeState(agent.stateFile, withRun(state, run));
      } catch (writeError) {
        logger.warn(`could not record the failed run in ${agent.stateFile}: ${describeError(writeError)}`);
      }
    }
    throw error;
  } finally {
    await lock.release();
  }
}

/** The release `current` pointed at before the last switch, as the newest run that knew it recorded it. */
export function lastKnownPrevious(state: State, which: 'service' | 'base'): string | undefined {
  return state.history.find((run) => run.versions[which]?.previous !== undefined)?.versions[which]?.previous;
}

/**
 * The release before `linked` (what `current` names now). When `current` moved after the newest record, a run
 * was killed between its switch and its record: the recorded current is then the previous one, not lost.
 */
export function previousOf(state: State, which: 'service' | 'base', linked: string | undefined): string | undefined {
  const recorded = state.history.find((run) => run.versions[which]?.current !== undefined)?.versions[which]?.current;
  return recorded !== undefined && recorded !== linked ? recorded : lastKnownPrevious(state, which);
}

/** The identity the last runs recorded: commands that follow a deploy act as the instance it found itself to be. */
export function recordedGrains(state: State, needed: string): Grains {
  const grains = state.history.find((run) => run.grains !== undefined)?.grains;
  if (!grains) throw new UsageError(`this instance has no recorded deploy yet: ${needed}`);
  return grains;
}
