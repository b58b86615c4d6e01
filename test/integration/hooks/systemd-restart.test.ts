// hooks/systemd-restart with a fake systemctl on PATH that records its calls and can fail, hang in "activating" or crash.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeFakeBin, makeScratch, runScript } from '../../helpers/run-script.js';

const hook = join(import.meta.dirname, '..', '..', '..', 'hooks', 'systemd-restart');

/**
 * Settings, by environment: FAKE_RESTART_FAILS a unit whose restart fails; FAKE_CRASHES a unit that is
 * "failed" once restarted; FAKE_ACTIVATING_CHECKS how many is-active checks answer "activating" first.
 */
const fakeSystemctl = `
echo "$*" >> "$FAKE_LOG"
unit=$(eval echo "\\\${$#}")
case $1 in
  restart)
    if [ "$unit" = "\${FAKE_RESTART_FAILS:-}" ]; then
      echo "Job for $unit failed because the control process exited with error code." >&2
      exit 1
    fi
    rm -f "$FAKE_DIR/checks-$unit" ;;
  is-active)
    if [ "$unit" = "\${FAKE_CRASHES:-}" ]; then echo failed; exit 3; fi
    echo x >> "$FAKE_DIR/checks-$unit"
    if [ "$(wc -l < "$FAKE_DIR/checks-$unit")" -gt "\${FAKE_ACTIVATING_CHECKS:-0}" ]; then echo active; exit 0; fi
    echo activating; exit 3 ;;
  status)
    echo "x $unit - fake unit"
    echo "     Active: failed (Result: exit-code)" ;;
esac
`;

let dir: string;
let env: Record<string, string>;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir, cleanup } = await makeScratch('systemd-restart-'));
  const bin = await makeFakeBin(join(dir, 'bin'), { systemctl: fakeSystemctl }, ['date', 'rm', 'sleep', 'tr', 'wc']);
  env = { PATH: bin, FAKE_LOG: join(dir, 'calls'), FAKE_DIR: dir, SYSTEMD_RESTART_INTERVAL: '0.1' };
});

afterEach(async () => {
  await cleanup();
});

async function calls(): Promise<string[]> {
  return (await readFile(join(dir, 'calls'), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
}

describe('systemd-restart', () => {
  it('restarts each unit of SYSTEMD_RESTART_UNITS in order, waiting for each to be active before the next', async () => {
    const result = await runScript(hook, [], { ...env, SYSTEMD_RESTART_UNITS: 'myapp.service, myapp-worker', FAKE_ACTIVATING_CHECKS: '2' });
    expect(result.exitCode).toBe(0);
    expect(await calls()).toEqual([
      'restart -- myapp.service',
      'is-active -- myapp.service',
      'is-active -- myapp.service',
      'is-active -- myapp.service',
      'restart -- myapp-worker',
      'is-active -- myapp-worker',
      'is-active -- myapp-worker',
      'is-active -- myapp-worker',
    ]);
    expect(result.stdout).toContain('myapp.service is active');
    expect(result.stdout).toContain('all units active: myapp.service myapp-worker');
  });

  it('takes the units as arguments, over SYSTEMD_RESTART_UNITS', async () => {
    const result = await runScript(hook, ['web@1.service'], { ...env, SYSTEMD_RESTART_UNITS: 'other.service' });
    expect(result.exitCode).toBe(0);
    expect(await calls()).toEqual(['restart -- web@1.service', 'is-active -- web@1.service']);
  });

  it('exits 1 when a restart fails, showing the status, and restarts nothing after it', async () => {
    const result = await runScript(hook, [], { ...env, SYSTEMD_RESTART_UNITS: 'db.service web.service', FAKE_RESTART_FAILS: 'db.service' });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('systemctl restart db.service failed');
    expect(result.stderr).toContain('Job for db.service failed');
    expect(result.stderr).toContain('Active: failed (Result: exit-code)');
    expect(await calls()).toEqual(['restart -- db.service', 'status --no-pager --lines=20 -- db.service']);
  });

  it('exits 1 when a unit fails after its restart', async () => {
    const result = await runScript(hook, [], { ...env, SYSTEMD_RESTART_UNITS: 'web.service', FAKE_CRASHES: 'web.service' });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('web.service failed after its restart');
    expect(result.stderr).toContain('Active: failed');
  });

  it('exits 1 when a unit is not active within SYSTEMD_RESTART_TIMEOUT', async () => {
    const result = await runScript(hook, [], {
      ...env,
      SYSTEMD_RESTART_UNITS: 'slow.service',
      SYSTEMD_RESTART_TIMEOUT: '1',
      FAKE_ACTIVATING_CHECKS: '1000',
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('slow.service not active after 1s (state: activating)');
    expect(result.durationMs).toBeLessThan(5_000);
  });
});

describe('systemd-restart usage errors (exit 2)', () => {
  const cases: [string, Record<string, string>, string[], string][] = [
    ['no units', {}, [], 'no units: give them as arguments or set SYSTEMD_RESTART_UNITS'],
    ['only separators', { SYSTEMD_RESTART_UNITS: ' , ' }, [], 'no units'],
    ['a unit name with shell characters', {}, ['web;reboot'], '"web;reboot" is not a systemd unit name'],
    ['a glob, which is not expanded', { SYSTEMD_RESTART_UNITS: '*' }, [], '"*" is not a systemd unit name'],
    ['a unit name that is an option', { SYSTEMD_RESTART_UNITS: '--force' }, [], '"--force" is not a systemd unit name'],
    ['a timeout that is not a whole number', { SYSTEMD_RESTART_UNITS: 'a', SYSTEMD_RESTART_TIMEOUT: '1m' }, [], 'SYSTEMD_RESTART_TIMEOUT must be a whole number of seconds, got "1m"'],
    ['an interval that is not a number', { SYSTEMD_RESTART_UNITS: 'a', SYSTEMD_RESTART_INTERVAL: 'soon' }, [], 'SYSTEMD_RESTART_INTERVAL must be a number of seconds, got "soon"'],
  ];
  for (const [name, settings, args, message] of cases) {
    it(`refuses ${name}, calling no systemctl`, async () => {
      const result = await runScript(hook, args, { ...env, ...settings });
      expect(result.stderr).toContain(message);
      expect(result.exitCode).toBe(2);
      expect(await calls()).toEqual([]);
    });
  }

  it('says so when there is no systemctl', async () => {
    const bin = await makeFakeBin(join(dir, 'bare'), {}, ['tr']);
    const result = await runScript(hook, ['web.service'], { PATH: bin });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('systemctl not found: this hook needs systemd');
  });
});
