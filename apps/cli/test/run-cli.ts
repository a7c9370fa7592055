import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built, bundled CLI: what `pnpm build` puts in dist/ and what `bin.densessm` points at. */
export const CLI_PATH = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRunOptions {
  /** Written to stdin, then stdin is closed. Default: stdin closed at once (not a TTY). */
  readonly input?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs?: number;
  /** Called with the child and each stdout chunk (e.g. to send SIGINT once text arrives). */
  readonly onStdout?: (chunk: string, child: ReturnType<typeof spawn>) => void;
}

/** Runs `node dist/cli.js ...args` as a user would and collects what it printed. */
export function runCli(args: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  if (!existsSync(CLI_PATH))
    throw new Error(`${CLI_PATH} is missing: run 'pnpm --filter @densessm/cli build' first`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      env: { ...process.env, NO_COLOR: '1', DENSESSM_DEBUG: undefined, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      options.onStdout?.(chunk, child);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** A stack trace line as Node prints it ("    at fn (file:line:col)"). */
export const STACK_LINE = /^\s+at .+[:(]/m;
