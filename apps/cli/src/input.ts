import { readFile } from 'node:fs/promises';
import { InputFileError, UsageError } from './errors.js';

/** Reads a UTF-8 text file, turning every way it can fail into one actionable line (exit 4). */
export async function readTextFile(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES' || code === 'EPERM'
          ? 'is not readable (permission denied)'
          : code === 'EISDIR'
            ? 'is a folder, not a file'
            : `cannot be read (${code ?? (error as Error).message})`;
    throw new InputFileError('INPUT_UNREADABLE', `${what} '${path}' ${reason}; pass a readable text file`);
  }
  if (text.trim() === '')
    throw new InputFileError('EMPTY_INPUT', `${what} '${path}' is empty; give it some text`);
  return text;
}

export async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The prompt of `generate`: the argument words, else --file, else piped stdin. A terminal stdin with no prompt
 * is a usage error rather than a silent wait.
 */
export async function readPrompt(words: readonly string[], file: string | undefined): Promise<string> {
  if (words.length > 0 && file !== undefined) {
    throw new UsageError('give the prompt either as an argument or with --file, not both', 'NO_PROMPT');
  }
  if (words.length > 0) return words.join(' ');
  if (file !== undefined) return file === '-' ? readStdinPrompt() : readTextFile(file, 'prompt file');
  if (process.stdin.isTTY) {
    throw new UsageError(
      'no prompt: pass it as an argument (densessm generate "Once upon a time"), with --file, or on stdin',
      'NO_PROMPT',
    );
  }
  return readStdinPrompt();
}

async function readStdinPrompt(): Promise<string> {
  // A trailing newline from `echo` is not part of the prompt.
  const text = (await readAllStdin()).replace(/\r?\n$/, '');
  if (text.trim() === '')
    throw new UsageError('the prompt on stdin is empty; pipe in some text', 'NO_PROMPT');
  return text;
}
