// `pulldeploy iam-policy`: the committed examples are exactly what the command prints; bad input is refused.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const examples = join(import.meta.dirname, '..', '..', 'examples', 'iam');
const args = ['iam-policy', 'myapp', 'testing', '--bucket', 'my-releases', '--region', 'us-east-1', '--root', '/nonexistent-root'];

it('prints the instance policy of examples/iam', async () => {
  const result = await runCli(args, {});
  expect(result.exitCode).toBe(0);
  expect(result.stdout).toBe(await readFile(join(examples, 'instance-policy.json'), 'utf8'));
});

it('prints the publisher policy of examples/iam with --publisher', async () => {
  const result = await runCli([...args, '--publisher'], {});
  expect(result.exitCode).toBe(0);
  expect(result.stdout).toBe(await readFile(join(examples, 'publisher-policy.json'), 'utf8'));
});

it('without SERVICE INSTANCE on a host that never deployed: exit 2 saying what to give', async () => {
  const result = await runCli(['iam-policy', '--bucket', 'b', '--root', '/nonexistent-root'], {});
  expect(result.exitCode).toBe(2);
  expect(result.stderr).toContain('give SERVICE INSTANCE');
});

it('refuses an account id that is not 12 digits', async () => {
  const result = await runCli([...args, '--account', '12345'], {});
  expect(result.exitCode).toBe(2);
  expect(result.stderr).toContain('12-digit');
});
