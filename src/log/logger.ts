// One logger passed to everything: human lines by default, one JSON object per line with --json.

export type LogLevel = 'error' | 'warn' | 'info' | 'verbose' | 'debug';

const rank: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, verbose: 3, debug: 4 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  /** Shown with -v: hook and apply output, step details. */
  verbose(message: string, fields?: LogFields): void;
  /** Shown with -vv. */
  debug(message: string, fields?: LogFields): void;
  enabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  /** 0 = info, 1 = verbose (-v), 2 = debug (-vv). */
  verbosity: number;
  json: boolean;
  write: (line: string) => void;
  now?: () => Date;
}

export function verbosityLevel(verbosity: number): LogLevel {
  if (verbosity >= 2) return 'debug';
  if (verbosity === 1) return 'verbose';
  return 'info';
}

export function createLogger(options: LoggerOptions): Logger {
  const threshold = rank[verbosityLevel(options.verbosity)];
  const now = options.now ?? (() => new Date());
  const emit = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (rank[level] > threshold) return;
    if (options.json) {
      options.write(JSON.stringify({ time: now().toISOString(), level, msg: message, ...fields }) + '\n');
      return;
    }
    const prefix = level === 'error' ? 'error: ' : level === 'warn' ? 'warning: ' : '';
    options.write(prefix + message + '\n');
  };
  return {
    error: (m, f) => emit('error', m, f),
    warn: (m, f) => emit('warn', m, f),
    info: (m, f) => emit('info', m, f),
    verbose: (m, f) => emit('verbose', m, f),
    debug: (m, f) => emit('debug', m, f),
    enabled: (level) => rank[level] <= threshold,
  };
}

/** A logger that keeps every line, for tests. */
export function createMemoryLogger(): Logger & { lines: { level: LogLevel; message: string; fields?: LogFields }[] } {
  const lines: { level: LogLevel; message: string; fields?: LogFields }[] = [];
  const push = (level: LogLevel) => (message: string, fields?: LogFields) => {
    lines.push(fields ? { level, message, fields } : { level, message });
  };
  return {
    lines,
    error: push('error'),
    warn: push('warn'),
    info: push('info'),
    verbose: push('verbose'),
    debug: push('debug'),
    enabled: () => true,
  };
}
