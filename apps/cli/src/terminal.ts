import { isAbsolute, relative } from 'node:path';
import { styleText } from 'node:util';

type Style = 'red' | 'green' | 'yellow' | 'cyan' | 'dim' | 'bold';

/** Colours only where a person is looking: a TTY, and NO_COLOR unset (https://no-color.org). */
export function colorEnabled(stream: NodeJS.WriteStream): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

/** Formatter for one output stream; a no-op when that stream does not take colours. */
export function painter(stream: NodeJS.WriteStream): (style: Style, text: string) => string {
  if (!colorEnabled(stream)) return (_style, text) => text;
  return (style, text) => styleText(style, text);
}

/** Where the CLI writes: text to stdout, everything about the run (progress, stats, errors) to stderr. */
export interface Terminal {
  readonly out: NodeJS.WriteStream;
  readonly err: NodeJS.WriteStream;
  /** Suppress progress and info lines (--quiet). Errors are always printed. */
  readonly quiet: boolean;
  info(line: string): void;
  warn(line: string): void;
  paintErr: (style: Style, text: string) => string;
}

export function createTerminal(options: { quiet?: boolean } = {}): Terminal {
  const paintErr = painter(process.stderr);
  const quiet = options.quiet === true;
  return {
    out: process.stdout,
    err: process.stderr,
    quiet,
    paintErr,
    info(line) {
      if (!quiet) process.stderr.write(`${line}\n`);
    },
    warn(line) {
      process.stderr.write(`${paintErr('yellow', 'warning:')} ${line}\n`);
    },
  };
}

/** Writes to stdout and resolves once the data is handed to the OS (so a pipe closed early cannot lose it). */
export function writeOut(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (error) => (error ? reject(error) : resolve()));
  });
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0
    ? `${bytes} B`
    : `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${units[unit]}`;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

/** A plain-text table: columns padded to the widest cell, numbers right-aligned. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = header.map(
    (_, i) => rows.length > 0 && rows.every((r) => /^[-+]?[\d.,]+[x%]?$|^-$/.test(r[i] ?? '')),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A path as the user would type it from here: relative when inside the working directory, else absolute. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  if (rel === '') return '.';
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

/** The same table as GitHub Markdown (numbers right-aligned). */
export function formatMarkdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const numeric = header.map(
    (_, i) => rows.length > 0 && rows.every((r) => /^[-+]?[\d.,]+[x%]?$|^-$/.test(r[i] ?? '')),
  );
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [
    line(header),
    `|${numeric.map((n) => (n ? ' ---: ' : ' --- ')).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}
