// The upload progress bar: drawn on a terminal, throttled, always at 100 %, cleared at the end; silent elsewhere.
import { describe, expect, it } from 'vitest';
import { createProgress } from '../../../src/log/progress.js';

function terminal(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, target: { isTTY, write: (text: string) => writes.push(text) } };
}

const mebibyte = 1024 * 1024;

describe('createProgress', () => {
  it('draws a bar on a terminal, at most every interval, always at 100%, and clears it', () => {
    const { writes, target } = terminal(true);
    let now = 0;
    const progress = createProgress('uploading 1.0', 4 * mebibyte, target, { json: false, intervalMs: 100, now: () => now });
    progress.advance(mebibyte);
    now = 50;
    progress.advance(mebibyte);
    now = 150;
    progress.advance(mebibyte);
    now = 160;
    progress.advance(mebibyte);
    progress.finish();
    expect(writes).toEqual([
      `\ruploading 1.0 [${'#'.repeat(8)}${'.'.repeat(22)}]  25% 1.0/4.0 MiB`,
      `\ruploading 1.0 [${'#'.repeat(23)}${'.'.repeat(7)}]  75% 3.0/4.0 MiB`,
      `\ruploading 1.0 [${'#'.repeat(30)}] 100% 4.0/4.0 MiB`,
      '\r\x1b[2K',
    ]);
  });

  it('stays silent when stderr is not a terminal, or with --json', () => {
    for (const [isTTY, json] of [
      [false, false],
      [true, true],
    ] as const) {
      const { writes, target } = terminal(isTTY);
      const progress = createProgress('uploading', mebibyte, target, { json });
      progress.advance(mebibyte);
      progress.finish();
      expect(writes).toEqual([]);
    }
  });
});
