// Times each deploy step, logs its duration, and keeps the records that state.json carries.
import { explainHostError, isPulldeployError } from '../errors.js';
import { formatDuration } from '../log/format-duration.js';
import type { Logger } from '../log/logger.js';
import { crashPoint } from './crash-point.js';
import type { StepRecord } from './state-file.js';

export interface StepRecorder {
  readonly steps: StepRecord[];
  /** The step that failed, once one has. */
  readonly failedStep: string | undefined;
  run<T>(name: string, body: () => Promise<T>, detail?: (result: T) => string | undefined): Promise<T>;
}

export function createStepRecorder(logger: Logger, now: () => Date): StepRecorder {
  const steps: StepRecord[] = [];
  let failedStep: string | undefined;
  return {
    steps,
    get failedStep() {
      return failedStep;
    },
    async run(name, body, detail) {
      const started = now();
      const record = (outcome: StepRecord['outcome'], text: string | undefined) => {
        const durationMs = now().getTime() - started.getTime();
        steps.push({
          name,
          started_at: started.toISOString(),
          duration_ms: durationMs,
          outcome,
          ...(text ? { detail: text } : {}),
        });
        return durationMs;
      };
      try {
        crashPoint(`before:${name}`);
        const result = await body();
        crashPoint(`after:${name}`);
        const text = detail?.(result);
        const durationMs = record('ok', text);
        logger.info(`${name} ok in ${formatDuration(durationMs)}${text ? `: ${text}` : ''}`, {
          step: name,
          duration_ms: durationMs,
        });
        return result;
      } catch (thrown) {
        failedStep = name;
        // A full disk or a read-only root is the host's problem, said as such, not "an internal error".
        const error = explainHostError(thrown) ?? thrown;
        const message = error instanceof Error ? error.message : String(error);
        const durationMs = record('failed', message);
        logger.debug(`${name} failed after ${formatDuration(durationMs)}`, { step: name, duration_ms: durationMs });
        if (isPulldeployError(error)) error.message = `step ${name} failed: ${error.message}`;
        throw error;
      }
    },
  };
}
