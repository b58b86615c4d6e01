// Malicious releases through the whole CLI: refused with exit 4, current untouched, nothing written outside, not registered.
import { existsSync } from 'node:fs';
import { readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { listTree, useDeployedWorld } from '../helpers/deploy-world.js';
import { sha256, tarGz, type TestEntry } from '../helpers/archives.js';

const deployed = useDeployedWorld();

const escapeTarget = () => join(deployed.world.outside, 'pwned');

const cases: { name: string; entries: () => TestEntry[]; message: RegExp }[] = [
  {
    name: 'an absolute path',
    entries: () => [{ path: escapeTarget(), content: 'owned' }],
    message: /absolute/,
  },
  {
    name: 'a path climbing out with ..',
    entries: () => [{ path: '../../../../outside/pwned', content: 'owned' }],
    message: /\.\./,
  },
  {
    name: 'a symlink escaping the release, then a file written through it',
    entries: () => [
      { path: 'escape', type: 'symlink', linkpath: deployed.world.outside },
      { path: 'escape/pwned', content: 'owned' },
    ],
    message: /escape/,
  },
  {
    name: 'a hardlink to a file outside the release',
    entries: () => [{ path: 'passwd', type: 'hardlink', linkpath: join(deployed.world.outside, 'sentinel') }],
    message: /passwd|hardlink|link/,
  },
  {
    name: 'a device node',
    entries: () => [{ path: 'null', type: 'character-device' }],
    message: /device/,
  },
];

describe('hostile service releases', () => {
  for (const [index, testCase] of cases.entries()) {
    it(`refuses ${testCase.name}`, async () => {
      const version = `evil${index}`;
      const tarball = tarGz([{ path: 'salt/config/states/top.sls', content: '' }, ...testCase.entries()]);
      await deployed.world.publishBytes('myapp', version, tarball);
      await deployed.world.promote('myapp', 'testing', { version, sha256: sha256(tarball) });

      const result = await runCli(['myapp', 'testing', '--root', deployed.world.root, '--json'], { ...deployed.world.env, PULLDEPLOY_LB_REGISTER: 'true' });

      expect(result.exitCode).toBe(4);
      const errorLine = JSON.parse(result.stderr.trim().split('\n').at(-1)!);
      expect(errorLine.level).toBe('error');
      expect(errorLine.msg).toMatch(testCase.message);
      expect(errorLine.exit_code).toBe(4);
      expect(await readlink(join(deployed.world.root, 'srv/myapp/current'))).toBe('releases/v1');
      expect(await readFile(join(deployed.world.root, 'srv/myapp/current/VERSION'), 'utf8')).toBe('v1\n');
      expect(await readdir(join(deployed.world.root, 'srv/myapp/releases'))).toEqual(['v1']);
      expect(await listTree(deployed.world.outside)).toEqual(['sentinel (9 bytes)']);
      expect(await readFile(join(deployed.world.outside, 'sentinel'), 'utf8')).toBe('untouched');
      expect(existsSync(escapeTarget())).toBe(false);
      expect(await deployed.world.registeredInstances()).toEqual([]);
      const state = JSON.parse(await readFile(join(deployed.world.root, 'var/lib/pulldeploy/state.json'), 'utf8'));
      expect(state.last_run.failed_step).toBe('fetch');
    });
  }
});
