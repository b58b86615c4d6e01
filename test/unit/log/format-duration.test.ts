// formatDuration: the durations in step logs and timeout messages.
import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../../src/log/format-duration.js';

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [250, '250ms'],
    [1000, '1s'],
    [1234, '1.2s'],
    [30_000, '30s'],
    [300_000, '5m'],
    [125_000, '2m5s'],
  ])('%i ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
