/** Structured logs: one JSON object per line, with the request id on every line about a request. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(
  level: LogLevel | 'silent',
  write: (line: string) => void = (line) => process.stderr.write(line),
  base: Record<string, unknown> = {},
): Logger {
  return {
    log(lineLevel, msg, fields) {
      if (RANK[lineLevel] < RANK[level]) return;
      write(
        `${JSON.stringify({ time: new Date().toISOString(), level: lineLevel, msg, ...base, ...fields })}\n`,
      );
    },
    child(fields) {
      return createLogger(level, write, { ...base, ...fields });
    },
  };
}
