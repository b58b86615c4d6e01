// A progress bar for uploads, drawn on stderr only when it is a terminal (never in CI logs or with --json).
export interface Progress {
  /** Adds `bytes` transferred. */
  advance(bytes: number): void;
  /** Clears the bar. */
  finish(): void;
}

export interface ProgressTarget {
  write(text: string): unknown;
  isTTY?: boolean;
}

const width = 30;
const mebibyte = 1024 * 1024;

const silent: Progress = { advance: () => undefined, finish: () => undefined };

/** Redraws at most every `intervalMs`, and always at 100 %. */
export function createProgress(label: string, total: number, target: ProgressTarget, options: { json: boolean; intervalMs?: number; now?: () => number }): Progress {
  if (target.isTTY !== true || options.json || total <= 0) return silent;
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? 100;
  let done = 0;
  let drawnAt = Number.NEGATIVE_INFINITY;
  let drawn = false;
  const draw = () => {
    const share = Math.min(1, done / total);
    const filled = Math.round(share * width);
    const amount = `${(done / mebibyte).toFixed(1)}/${(total / mebibyte).toFixed(1)} MiB`;
    target.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(share * 100)).padStart(3)}% ${amount}`);
    drawn = true;
    drawnAt = now();
  };
  return {
    advance(bytes) {
      done += bytes;
      if (done >= total || now() - drawnAt >= intervalMs) draw();
    },
    finish() {
      if (drawn) target.write('\r\x1b[2K');
    },
  };
}
