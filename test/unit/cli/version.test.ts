// The version the CLI reports is the package's.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { pulldeployVersion } from '../../../src/version.js';

it('matches package.json', async () => {
  const pkg = JSON.parse(await readFile(join(import.meta.dirname, '..', '..', '..', 'package.json'), 'utf8'));
  expect(pulldeployVersion).toBe(pkg.version);
});
