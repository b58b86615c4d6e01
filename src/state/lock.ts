// The run lock (DESIGN.md §4 step 1): one pulldeploy run per host; a dead holder's lock is taken over.
import { open, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BusyError, explainHostError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { makeDirectory } from '../release/durable.js';
import { errorCode } from '../errors.js';
import { crashPoint } from './crash-point.js';
import { describeThisProcess, readLockSnapshot, type LockHolder, type LockSnapshot } from './lock-file.js';
import { takeoverGuardPath, tryTakeOver } from './lock-takeover.js';
import { isProcessRunning } from './process-identity.js';

export { readLockHolder, type LockHolder, type LockStatus } from './lock-file.js';

/** An empty or unparsable lock younger than this is most likely being written right now. */
const corruptLockGraceMs = 5_000;
/** How long a non-waiting acquire retries a lock being written or taken over before calling it busy. */
const transientRetryMs = 1_000;
const transientPollMs = 20;
const defaultPollMs = 250;

export interface AcquireLockOptions {
  path: string;
  /** false (`check`): busy at once; true (`deploy`): poll until `timeoutMs`. */
  wait: boolean;
  timeoutMs: number;
  logger: Logger;
  pollMs?: number;
  /** Recorded in the lock so a busy message can say what holds it; defaults to this process's argv. */
  command?: string;
}

export interface Lock extends AsyncDisposable {
  readonly path: string;
  readonly holder: LockHolder;
  /** Removes the lock file if it is still ours; calling it again does nothing. */
  release(): Promise<void>;
}

type Applicant = Omit<LockHolder, 'acquired_at'>;

/** Creates the lock file exclusively and fills it; undefined when it already exists. */
async function tryCreateLock(path: string, applicant: Applicant, logger: Logger): Promise<Lock | undefined> {
  await makeDirectory(dirname(path));
  let handle;
  try {
    handle = await open(path, 'wx', 0o644);
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return undefined;
    throw error;
  }
  const holder: LockHolder = { ...applicant, acquired_at: new Date().toISOString() };
  const raw = JSON.stringify(holder) + '\n';
  try {
    crashPoint('lock:empty');
    await handle.writeFile(raw);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(path, { force: true });
    throw explainHostError(error, path, 'creating the run lock') ?? error;
  }
  await handle.close();
  return createLockHandle(path, holder, raw, logger);
}

function createLockHandle(path: string, holder: LockHolder, raw: string, logger: Logger): Lock {
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    const snapshot = await readLockSnapshot(path);
    if (snapshot.kind !== 'missing' && snapshot.raw === raw) {
      await rm(path, { force: true });
      return;
    }
    logger.warn(`lock ${path} was no longer ours when releasing it (another run took it over); left it alone`);
  };
  return { path, holder, release, [Symbol.asyncDispose]: release };
}

async function isStale(snapshot: LockSnapshot): Promise<boolean> {
  if (snapshot.kind === 'missing') return false;
  if (snapshot.kind === 'corrupt') return Date.now() - snapshot.mtimeMs > corruptLockGraceMs;
  return !(await isProcessRunning(snapshot.holder.pid, snapshot.holder.start_time));
}

/** Why the lock is not ours yet: a live holder blocks until its run ends; the others clear within milliseconds unless their process died. */
type Blocker =
  | { kind: 'holder'; holder: LockHolder }
  | { kind: 'being-written' }
  | { kind: 'takeover'; guard: string };

function busyError(path: string, blocker: Blocker, waitedMs: number | undefined): BusyError {
  const waited = waitedMs === undefined ? '' : `; gave up after waiting ${(waitedMs / 1000).toFixed(1)}s (--lock-timeout)`;
  switch (blocker.kind) {
    case 'holder': {
      const { pid, acquired_at: acquiredAt, command } = blocker.holder;
      return new BusyError(
        `another pulldeploy run (pid ${pid}, started ${acquiredAt}, \`${command}\`) holds ${path}${waited}: ` +
          `try again when it has finished; if pid ${pid} is not pulldeploy, remove ${path}`,
      );
    }
    case 'being-written':
      return new BusyError(
        `another pulldeploy run is creating the lock ${path} (it is still empty or unreadable)${waited}: try again in a few seconds`,
      );
    case 'takeover':
      return new BusyError(
        `another pulldeploy run is taking over the stale lock ${path} (${blocker.guard} exists)${waited}: ` +
          `try again in a few seconds; if no pulldeploy is running, remove ${blocker.guard}`,
      );
  }
}

/** After a failed create: the lock, when a stale one was taken over; what blocks us; or 'gone' when it was just released. */
async function inspectExistingLock(
  path: string,
  applicant: Applicant,
  logger: Logger,
): Promise<{ lock: Lock } | { blocker: Blocker } | 'gone'> {
  const snapshot = await readLockSnapshot(path);
  if (snapshot.kind === 'missing') return 'gone';
  if (await isStale(snapshot)) {
    const lock = await tryTakeOver(path, snapshot, () => tryCreateLock(path, applicant, logger), logger);
    return lock === undefined ? { blocker: { kind: 'takeover', guard: takeoverGuardPath(path) } } : { lock };
  }
  return { blocker: snapshot.kind === 'valid' ? { kind: 'holder', holder: snapshot.holder } : { kind: 'being-written' } };
}

export async function acquireLock(options: AcquireLockOptions): Promise<Lock> {
  const { path, wait, timeoutMs, logger } = options;
  const pollMs = options.pollMs ?? defaultPollMs;
  const applicant = await describeThisProcess(options.command ?? process.argv.slice(1).join(' '));
  const startedAt = Date.now();
  for (;;) {
    const created = await tryCreateLock(path, applicant, logger);
    if (created !== undefined) return created;
    const found = await inspectExistingLock(path, applicant, logger);
    if (found === 'gone') continue;
    if ('lock' in found) return found.lock;
    const { blocker } = found;
    const transient = blocker.kind !== 'holder';
    const waitedMs = Date.now() - startedAt;
    // A transient blocker always gets a moment (it usually clears within milliseconds), so that even without
    // waiting (`check`, or `--lock-timeout 0`) the busy message names the run that holds the lock.
    const limitMs = Math.max(wait ? timeoutMs : 0, transient ? transientRetryMs : 0);
    if (waitedMs >= limitMs) throw busyError(path, blocker, wait ? waitedMs : undefined);
    await sleep(Math.max(1, Math.min(transient ? transientPollMs : pollMs, limitMs - waitedMs)));
  }
}
