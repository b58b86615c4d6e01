// Human lines by default, NDJSON with --json, and verbosity thresholds.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log/logger.js';

function capture(verbosity: number, json: boolean) {
  const out: string[] = [];
  const logger = createLogger({ verbosity, json, write: (line) => out.push(line), now: () => new Date('2026-11-22T00:00:00Z') });
  return { logger, out };
}

describe('logger', () => {
  it('shows info and above by default, verbose with -v, debug with -vv', () => {
    for (const [verbosity, expected] of [
      [0, ['error: e\n', 'warning: w\n', 'i\n']],
      [1, ['error: e\n', 'warning: w\n', 'i\n', 'v\n']],
      [2, ['error: e\n', 'warning: w\n', 'i\n', 'v\n', 'd\n']],
    ] as const) {
      const { logger, out } = capture(verbosity, false);
      logger.error('e');
      logger.warn('w');
      logger.info('i');
      logger.verbose('v');
      logger.debug('d');
      expect(out).toEqual(expected);
    }
  });

  it('writes one JSON object per line with the fields', () => {
    const { logger, out } = capture(0, true);
    logger.info('fetch ok', { step: 'fetch', duration_ms: 12 });
    expect(out).toHaveLength(1);
    expect(out[0]!.endsWith('\n')).toBe(true);
    expect(JSON.parse(out[0]!)).toEqual({
      time: '2026-11-22T00:00:00.000Z',
      level: 'info',
      msg: 'fetch ok',
      step: 'fetch',
      duration_ms: 12,
    });
  });
});
