// Progress bars for downloads and uploads, drawn on stderr only when it is a terminal (never in CI logs or with --json).
export interface Progress {
  /** Adds `bytes` transferred. */
  advance(bytes: number): void;
  /** Clears the bar. */
  finish(): void;
}

/** One bar for several transfers at once (base and service download in parallel). */
export interface ProgressGroup {
  /** A transfer of `total` bytes joining the bar. */
  part(total: number): Pick<Progress, 'advance'>;
  finish(): void;
}

export interface ProgressTarget {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  json: boolean;
  intervalMs?: number;
  now?: () => number;
}

const width = 30;
const mebibyte = 1024 * 1024;

const silentGroup: ProgressGroup = { part: () => ({ advance: () => undefined }), finish: () => undefined };

/** Redraws at most every `intervalMs`, and always at 100 %. */
export function createProgressGroup(label: string, target: ProgressTarget, options: ProgressOptions): ProgressGroup {
  if (target.isTTY !== true || options.json) return silentGroup;
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? 100;
  let done = 0;
  let total = 0;
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
    part(partTotal) {
      total += Math.max(0, partTotal);
      return {
        advance(bytes) {
          done += bytes;
          if (total > 0 && (done >= total || now() - drawnAt >= intervalMs)) draw();
        },
      };
    },
    finish() {
      if (drawn) target.write('\r\x1b[2K');
    },
  };
}

export function createProgress(label: string, total: number, target: ProgressTarget, options: ProgressOptions): Progress {
  const group = createProgressGroup(label, target, options);
  const part = group.part(total);
  return { advance: (bytes) => part.advance(bytes), finish: () => group.finish() };
}
