// What every step that runs a child process (hooks, apply) is given: where, with what environment, and its time limits.
import type { Logger } from '../log/logger.js';

export interface RunSettings {
  /** The complete environment of the child (see hook-env.ts). */
  env: NodeJS.ProcessEnv;
  /** The release directory. */
  cwd: string;
  timeoutMs: number;
  /** Time between SIGTERM and SIGKILL to the process group when the timeout hits. */
  killGraceMs: number;
  logger: Logger;
  /** How long to keep reading after the main process exited while a background child still holds its output. */
  backgroundGraceMs?: number;
}
