import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TokenizerError } from './errors.js';
import { type LoadedTokenizer, type LoadTokenizerOptions, loadTokenizer, type ModelFiles } from './load.js';

/** A model folder on the local disk. */
export async function filesFromDirectory(dir: string): Promise<ModelFiles> {
  let names: string[];
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
    names = await readdir(dir);
  } catch (cause) {
    throw new TokenizerError(
      'NO_TOKENIZER_FOUND',
      `cannot read the model folder ${dir}: ${(cause as Error).message}.`,
      {
        cause,
      },
    );
  }
  return { names, read: async (name) => new Uint8Array(await readFile(join(dir, name))) };
}

/** loadTokenizer on a folder of the local disk (Node only; the main entry stays browser-safe). */
export async function loadTokenizerFromDirectory(
  dir: string,
  options?: LoadTokenizerOptions,
): Promise<LoadedTokenizer> {
  return loadTokenizer(await filesFromDirectory(dir), options);
}
