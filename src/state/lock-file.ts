// The run lock file's content (who holds it) and a consistent snapshot of it, for acquiring and for `status`.
import { open } from 'node:fs/promises';
import { hostname } from 'node:os';
import { errorCode } from '../errors.js';
import { isProcessRunning, processStartTime } from './process-identity.js';

export interface LockHolder {
  pid: number;
  /** /proc/<pid>/stat field 22, so a reused pid is not mistaken for the holder; absent off Linux. */
  start_time?: string;
  hostname: string;
  acquired_at: string;
  command: string;
}

/** What is in the lock file at one moment; `raw`, `inode` and `mtimeMs` identify that exact file. */
export type LockSnapshot =
  | { kind: 'missing' }
  | { kind: 'valid'; holder: LockHolder; raw: string; inode: number; mtimeMs: number }
  | { kind: 'corrupt'; raw: string; inode: number; mtimeMs: number };

export type LockStatus =
  | { state: 'free' }
  | { state: 'held'; holder: LockHolder; alive: boolean }
  | { state: 'unreadable'; ageMs: number };

/** This process as a lock holder, except the time it acquires the lock. */
export async function describeThisProcess(command: string): Promise<Omit<LockHolder, 'acquired_at'>> {
  const startTime = await processStartTime(process.pid);
  return { pid: process.pid, ...(startTime === undefined ? {} : { start_time: startTime }), hostname: hostname(), command };
}

function parseHolder(raw: string): LockHolder | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, start_time: startTime, hostname: host, acquired_at: acquiredAt, command } = value as Record<string, unknown>;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return undefined;
  if (typeof host !== 'string' || typeof acquiredAt !== 'string' || typeof command !== 'string') return undefined;
  if (startTime !== undefined && typeof startTime !== 'string') return undefined;
  return { pid, ...(startTime === undefined ? {} : { start_time: startTime }), hostname: host, acquired_at: acquiredAt, command };
}

/** Reads content and identity through one open file, so both describe the same file. */
export async function readLockSnapshot(path: string): Promise<LockSnapshot> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { kind: 'missing' };
    throw error;
  }
  try {
    const info = await handle.stat();
    const raw = await handle.readFile('utf8');
    const holder = parseHolder(raw);
    const identity = { raw, inode: info.ino, mtimeMs: info.mtimeMs };
    return holder === undefined ? { kind: 'corrupt', ...identity } : { kind: 'valid', holder, ...identity };
  } finally {
    await handle.close();
  }
}

export function isSameLockFile(a: LockSnapshot, b: LockSnapshot): boolean {
  if (a.kind === 'missing' || b.kind === 'missing') return false;
  return a.raw === b.raw && a.inode === b.inode && a.mtimeMs === b.mtimeMs;
}

/** Who holds the lock at `path` and whether that process still runs, for `status`. */
export async function readLockHolder(path: string): Promise<LockStatus> {
  const snapshot = await readLockSnapshot(path);
  if (snapshot.kind === 'missing') return { state: 'free' };
  if (snapshot.kind === 'corrupt') return { state: 'unreadable', ageMs: Date.now() - snapshot.mtimeMs };
  const alive = await isProcessRunning(snapshot.holder.pid, snapshot.holder.start_time);
  return { state: 'held', holder: snapshot.holder, alive };
}
