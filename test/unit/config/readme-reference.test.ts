// The README's configuration reference lists exactly the schema's keys, types and defaults.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { schemaFields } from '../../../src/config/schema.js';

it('documents every configuration key with its type and default', async () => {
  const readme = await readFile(join(import.meta.dirname, '..', '..', '..', 'README.md'), 'utf8');
  const rows = [...readme.matchAll(/^\| `([a-z_.]+)` \| (string|integer|boolean|string-list) \| `([^`]*)` \| (.+) \|$/gm)].map((m) => ({
    key: m[1],
    type: m[2],
    default: m[3],
    description: m[4],
  }));
  const expected = schemaFields().map(({ key, field }) => ({
    key,
    type: field.type,
    default: Array.isArray(field.default) ? JSON.stringify(field.default) : field.type === 'string' && field.default === '' ? '""' : String(field.default),
    description: field.description,
  }));
  expect(rows).toEqual(expected);
});
