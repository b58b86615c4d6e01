// Hooks and apply commands that misbehave, through the whole CLI (reliability suite, issue 6): a hook that forks a
// daemon and exits, one that ignores SIGTERM, one that writes 100 MB, one that reads stdin. The agent must neither
// hang, nor grow in memory, nor leave any process of a timed-out hook's group behind.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCli, type CliResult } from '../helpers/cli.js';
import { baseRelease, createDeployWorld, serviceRelease, type DeployWorld } from '../helpers/deploy-world.js';
import { isProcessAlive, killQuietly, liveGroupMembers, watchPeakMemory } from '../helpers/processes.js';

const mebibyte = 1024 * 1024;
let world: DeployWorld;
let root: string;
let cases = 0;
/** Processes a case leaves running on purpose, killed after it. */
const strays: number[] = [];

beforeAll(async () => {
  world = await createDeployWorld();
  await world.release('base', 'b1', baseRelease('b1'));
});

afterAll(async () => {
  await world.stop();
});

beforeEach(async () => {
  cases += 1;
  root = join(world.work, `case-${cases}`);
  await mkdir(root);
});

afterEach(() => {
  for (const pid of strays.splice(0)) killQuietly(pid);
});

interface Watched {
  result: CliResult;
  peakRssBytes: number;
  stderrBytes: number;
}

/** Publishes a release with `hook` as its only pre-release hook and deploys it, watching memory and output volume. */
async function deployWithHook(hook: string, env: Record<string, string> = {}, options: { holdStdin?: boolean } = {}): Promise<Watched> {
  const version = `p${cases}`;
  await world.release('myapp', version, serviceRelease(version, { 'hooks/pre-release/10-hook': hook }));
  return deployWatched(env, options);
}

async function deployWatched(env: Record<string, string>, options: { holdStdin?: boolean } = {}): Promise<Watched> {
  const started = startCli(['myapp', 'testing', '-v', '--root', root], { ...world.env, ...env }, 120_000, 20_000);
  let stderrBytes = 0;
  started.child.stderr.on('data', (chunk: Buffer) => (stderrBytes += chunk.length));
  if (options.holdStdin) started.child.stdin.write('a secret the hook must never read\n');
  else started.child.stdin.end();
  const memory = watchPeakMemory(started.child.pid!);
  const result = await started.result;
  started.child.stdin.destroy();
  return { result, peakRssBytes: memory.stop(), stderrBytes };
}

const readPid = async (name: string) => Number((await readFile(join(root, name), 'utf8')).trim());

describe('a hook that forks a daemon and exits', () => {
  it('holding the hook output: the deploy goes on after a moment, with a warning naming the hook', async () => {
    const run = await deployWithHook('#!/bin/sh\nsleep 300 &\necho $! > "$PULLDEPLOY_ROOT/daemon.pid"\necho started\nexit 0\n');
    const daemon = await readPid('daemon.pid');
    strays.push(daemon);

    expect(run.result.exitCode, run.result.stderr).toBe(0);
    expect(run.result.stderr).toContain(
      'warning: hook pre-release/10-hook left a background process holding its output; stopped reading it after its exit',
    );
    expect(run.result.durationMs).toBeLessThan(10_000);
    // What a hook starts on purpose is its business: it is left running (services belong in systemd units).
    expect(isProcessAlive(daemon)).toBe(true);
  });

  it('fully detached (setsid, output redirected): no wait and no warning', async () => {
    const run = await deployWithHook(
      '#!/bin/sh\nsetsid sleep 300 > /dev/null 2>&1 < /dev/null &\necho $! > "$PULLDEPLOY_ROOT/daemon.pid"\nexit 0\n',
    );
    strays.push(await readPid('daemon.pid'));

    expect(run.result.exitCode).toBe(0);
    expect(run.result.stderr).not.toContain('background process');
    expect(run.result.durationMs).toBeLessThan(10_000);
  });
});

describe('processes that ignore SIGTERM are killed with their whole group at the timeout', () => {
  const timeouts = { PULLDEPLOY_HOOKS_TIMEOUT: '2', PULLDEPLOY_HOOKS_KILL_GRACE: '1' };

  it('a hook that ignores SIGTERM, with a child that ignores it too: SIGKILL after the grace, nothing left', async () => {
    const run = await deployWithHook(
      [
        '#!/bin/sh',
        "trap '' TERM",
        'echo $$ > "$PULLDEPLOY_ROOT/hook.pid"',
        'sleep 300 &',
        'echo $! > "$PULLDEPLOY_ROOT/child.pid"',
        'while :; do sleep 1; done',
        '',
      ].join('\n'),
      timeouts,
    );
    const hook = await readPid('hook.pid');
    const child = await readPid('child.pid');
    strays.push(hook, child);

    expect(run.result.exitCode).toBe(1);
    expect(run.result.stderr).toContain('hook pre-release/10-hook timed out after 2s and was killed with its process group');
    // Timeout, then the grace before SIGKILL: about 3 s, never the 300 s the processes wanted.
    expect(run.result.durationMs).toBeLessThan(15_000);
    expect(liveGroupMembers(hook)).toEqual([]);
    expect(isProcessAlive(hook)).toBe(false);
    expect(isProcessAlive(child)).toBe(false);
    expect(await readFile(join(root, 'srv/myapp/current/VERSION'), 'utf8').catch(() => 'no current')).toBe('no current');
  });

  it('an apply command that ignores SIGTERM: killed the same way, exit 1, nothing left', async () => {
    const apply = join(world.work, `apply-${cases}.sh`);
    await writeFile(apply, '#!/bin/sh\ntrap \'\' TERM\necho $$ > "$PULLDEPLOY_ROOT/apply.pid"\nwhile :; do sleep 1; done\n');
    await chmod(apply, 0o755);
    await world.release('myapp', `p${cases}`, serviceRelease(`p${cases}`));
    const run = await deployWatched({ PULLDEPLOY_APPLY_COMMAND: apply, PULLDEPLOY_APPLY_TIMEOUT: '2', PULLDEPLOY_HOOKS_KILL_GRACE: '1' });
    const leader = await readPid('apply.pid');
    strays.push(leader);

    expect(run.result.exitCode).toBe(1);
    expect(run.result.stderr).toContain(`apply command "${apply}" timed out after 2s and was killed with its process group`);
    expect(run.result.durationMs).toBeLessThan(15_000);
    // The shell that ran the command led the group; the script ran as its child or in its place.
    expect(isProcessAlive(leader)).toBe(false);
  });

  it('a process that leaves the hook\'s group with setsid is beyond the timeout (a documented limit)', async () => {
    const run = await deployWithHook(
      [
        '#!/bin/sh',
        'setsid sh -c \'echo $$ > "$PULLDEPLOY_ROOT/escaped.pid"; exec sleep 300\' > /dev/null 2>&1 < /dev/null &',
        'echo $$ > "$PULLDEPLOY_ROOT/hook.pid"',
        'sleep 300',
        '',
      ].join('\n'),
      timeouts,
    );
    const hook = await readPid('hook.pid');
    const escaped = await readPid('escaped.pid');
    strays.push(hook, escaped);

    expect(run.result.exitCode).toBe(1);
    expect(liveGroupMembers(hook)).toEqual([]);
    expect(isProcessAlive(escaped)).toBe(true);
  });
});

describe('a hook that writes 100 MB', () => {
  it('in 200-byte lines, shown with -v: streamed through, memory flat', async () => {
    const run = await deployWithHook(`#!/bin/sh\nyes "$(printf '%0199d' 0)" | head -c ${100 * 1000 * 1000}\n`);

    expect(run.result.exitCode, run.result.stderr.slice(-2000)).toBe(0);
    expect(run.stderrBytes).toBeGreaterThan(100 * 1000 * 1000);
    expect(run.peakRssBytes).toBeLessThan(180 * mebibyte);
    expect(run.result.durationMs).toBeLessThan(90_000);
  }, 120_000);

  it('without a single newline: drained to the end, one line cut at 16 KiB, memory flat', async () => {
    const run = await deployWithHook(`#!/bin/sh\nhead -c ${100 * 1000 * 1000} /dev/zero | tr '\\0' x\necho\necho end\n`);

    // The hook exits only once all 100 MB were read from its pipe: exit 0 means the agent drained it.
    expect(run.result.exitCode, run.result.stderr.slice(-2000)).toBe(0);
    expect(run.result.stderr).toMatch(/\[pre-release\/10-hook\] x{16384} \[… line cut\]\n/);
    expect(run.result.stderr).toContain('[pre-release/10-hook] end\n');
    expect(run.stderrBytes).toBeLessThan(mebibyte);
    expect(run.peakRssBytes).toBeLessThan(180 * mebibyte);
    expect(run.result.durationMs).toBeLessThan(90_000);
  }, 120_000);
});

describe('a hook that reads stdin', () => {
  it('reads nothing and does not wait, even while the agent\'s own stdin is open and has data', async () => {
    const run = await deployWithHook(
      '#!/bin/sh\ncat > "$PULLDEPLOY_ROOT/stdin.txt"\nread line || echo "stdin at end"\n',
      {},
      { holdStdin: true },
    );

    expect(run.result.exitCode).toBe(0);
    expect(await readFile(join(root, 'stdin.txt'), 'utf8')).toBe('');
    expect(run.result.stderr).toContain('[pre-release/10-hook] stdin at end');
    expect(run.result.durationMs).toBeLessThan(10_000);
  });
});
