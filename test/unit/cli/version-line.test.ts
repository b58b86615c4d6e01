// What `pulldeploy --version` prints from a checkout's JavaScript build, which no binary build stamped with a commit.
import { expect, it } from 'vitest';
import { runMain } from '../../../src/cli/run-main.js';
import { buildCommit, describeVersion, pulldeployVersion } from '../../../src/version.js';

it('names the version, an unknown commit, and the Node it runs on', () => {
  expect(buildCommit).toBe('unknown');
  expect(describeVersion()).toBe(
    `pulldeploy ${pulldeployVersion} (commit unknown, node ${process.versions.node}, ${process.platform}-${process.arch})`,
  );
});

it('is what --version and version print', async () => {
  for (const argv of [['--version'], ['version']]) {
    let stdout = '';
    const code = await runMain(argv, { env: {}, stdout: { write: (text: string) => (stdout += text) }, stderr: { write: () => true } });
    expect(code).toBe(0);
    expect(stdout).toBe(`${describeVersion()}\n`);
  }
});
