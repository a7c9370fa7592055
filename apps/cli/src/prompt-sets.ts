import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { InputFileError } from './errors.js';
import { readTextFile } from './input.js';

export interface PromptSet {
  readonly name: string;
  readonly file: string;
  readonly prompts: readonly string[];
}

const EXTENSIONS = ['.jsonl', '.json', '.txt'];

/**
 * Prompts of one file: `.jsonl` (one JSON string, or object with `prompt` or `text`, per line), `.json` (an array
 * of those), `.txt` (prompts separated by blank lines).
 */
export async function readPromptSet(file: string): Promise<PromptSet> {
  const text = await readTextFile(file, 'prompt set');
  const ext = extname(file).toLowerCase();
  let prompts: string[];
  try {
    if (ext === '.jsonl') {
      prompts = text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => promptOf(JSON.parse(l)));
    } else if (ext === '.json') {
      const parsed: unknown = JSON.parse(text);
      const list = Array.isArray(parsed) ? parsed : (parsed as { prompts?: unknown }).prompts;
      if (!Array.isArray(list)) throw new Error('expected an array of prompts or {"prompts": [...]}');
      prompts = list.map(promptOf);
    } else {
      prompts = text
        .split(/\n\s*\n/)
        .map((p) => p.trim())
        .filter((p) => p !== '');
    }
  } catch (error) {
    throw new InputFileError(
      'INPUT_UNREADABLE',
      `prompt set '${file}' is malformed: ${(error as Error).message}`,
    );
  }
  if (prompts.length === 0) throw new InputFileError('EMPTY_INPUT', `prompt set '${file}' has no prompts`);
  return { name: basename(file, extname(file)), file, prompts };
}

function promptOf(entry: unknown): string {
  if (typeof entry === 'string') return entry;
  if (entry !== null && typeof entry === 'object') {
    for (const key of ['prompt', 'text', 'input']) {
      const value = (entry as Record<string, unknown>)[key];
      if (typeof value === 'string') return value;
    }
  }
  throw new Error(
    `each prompt must be a string or an object with "prompt", got ${JSON.stringify(entry)?.slice(0, 60)}`,
  );
}

/**
 * `--prompts` -> prompt sets. A file path is read as is; a bare name is looked up in bench/prompts/; no value
 * means every set in bench/prompts/.
 */
export async function resolvePromptSets(
  option: string | undefined,
  promptsDir: string | undefined,
): Promise<PromptSet[]> {
  if (option !== undefined) {
    if (existsSync(option) && statSync(option).isFile()) return [await readPromptSet(option)];
    const named =
      promptsDir && EXTENSIONS.map((e) => join(promptsDir, option + e)).find((f) => existsSync(f));
    if (!named) {
      throw new InputFileError(
        'INPUT_UNREADABLE',
        `prompt set '${option}' is neither a file nor a set in ${promptsDir ?? 'bench/prompts/'}; run with no --prompts to use every set`,
      );
    }
    return [await readPromptSet(named)];
  }
  const files =
    promptsDir && existsSync(promptsDir)
      ? readdirSync(promptsDir)
          .filter((f) => EXTENSIONS.includes(extname(f).toLowerCase()))
          .sort()
      : [];
  if (files.length === 0) {
    throw new InputFileError(
      'INPUT_UNREADABLE',
      `no prompt sets in ${promptsDir ?? 'bench/prompts/'}; pass --prompts <file> (.jsonl, .json or .txt)`,
    );
  }
  return Promise.all(files.map((f) => readPromptSet(join(promptsDir as string, f))));
}
