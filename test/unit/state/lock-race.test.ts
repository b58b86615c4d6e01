// Separate processes racing for one stale lock: exactly one takes it over, the others are told it is busy.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitedPid } from '../../helpers/processes.js';
import { compileSources } from './compile-sources.js';

/** Acquires without waiting when told "go", reports one JSON line, holds the lock until stdin closes. */
const racerScript = `
import { createInterface } from 'node:readline';
import { acquireLock } from './src/state/lock.js';
const report = (value) => process.stdout.write(JSON.stringify(value) + '\\n');
const ignore = () => {};
const logger = { error: ignore, info: ignore, verbose: ignore, debug: ignore, enabled: () => false, warn: (message) => report({ warn: message }) };
const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
report({ ready: true });
await input.next();
try {
  const lock = await acquireLock({ path: process.argv[2], wait: false, timeoutMs: 0, logger, command: 'racer' });
  report({ result: 'won', pid: process.pid });
  await input.next();
  await lock.release();
} catch (error) {
  report({ result: 'lost', error: error.name, message: error.message });
}
`;

interface Racer {
  child: ChildProcessWithoutNullStreams;
  messages: Record<string, unknown>[];
  waitFor(key: string): Promise<Record<string, unknown>>;
}

function startRacer(dir: string, lockPath: string): Racer {
  const child = spawn(process.execPath, [join(dir, 'racer.mjs'), lockPath], { cwd: dir });
  const messages: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    messages.push(JSON.parse(line) as Record<string, unknown>);
    for (const wake of waiters.splice(0)) wake();
  });
  const waitFor = async (key: string): Promise<Record<string, unknown>> => {
    for (;;) {
      const found = messages.find((message) => key in message);
      if (found !== undefined) return found;
      if (child.exitCode !== null) throw new Error(`racer exited without "${key}": ${JSON.stringify(messages)}`);
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { child, messages, waitFor };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pulldeploy-lock-race-'));
  await compileSources(dir, ['release', 'state']);
  await writeFile(join(dir, 'racer.mjs'), racerScript);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('acquireLock across processes', () => {
  it('lets exactly one of several processes take over the same stale lock', async () => {
    const lockPath = join(dir, 'lock');
    const stalePid = await exitedPid();
    await writeFile(lockPath, JSON.stringify({ pid: stalePid, hostname: 'h', acquired_at: '2026-01-01T00:00:00Z', command: 'dead' }));
    const racers = Array.from({ length: 6 }, () => startRacer(dir, lockPath));
    try {
      await Promise.all(racers.map((racer) => racer.waitFor('ready')));
      for (const racer of racers) racer.child.stdin.write('go\n');
      const results = await Promise.all(racers.map((racer) => racer.waitFor('result')));
      const winners = results.filter((result) => result.result === 'won');
      expect(winners).toHaveLength(1);
      expect(results.filter((result) => result.result === 'lost').map((result) => result.error)).toEqual(Array(5).fill('BusyError'));
      const holder = JSON.parse(await readFile(lockPath, 'utf8')) as { pid: number; command: string };
      expect(holder).toMatchObject({ pid: winners[0]!.pid, command: 'racer' });
      const takeoverWarnings = racers.flatMap((racer) => racer.messages).filter((message) => 'warn' in message);
      // Exactly one run removed the stale lock; usually it is the winner, but a run that did not need the
      // takeover guard may create the lock in the moment it is absent.
      expect(takeoverWarnings).toEqual([
        { warn: expect.stringMatching(new RegExp(`^(took over|removed) stale lock of pid ${stalePid} at ${lockPath}: that process is no longer running`)) },
      ]);
    } finally {
      for (const racer of racers) racer.child.stdin.end();
      await Promise.all(racers.map((racer) => (racer.child.exitCode === null ? once(racer.child, 'exit') : undefined)));
    }
    await expect(readFile(lockPath)).rejects.toThrow(/ENOENT/);
  });
});
