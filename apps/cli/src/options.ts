import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { UsageError } from './errors.js';
import { checkModelFolder } from './model-location.js';

/** Drafter names `--draft` accepts besides a draft-model folder. */
export const DRAFTER_NAMES = ['lookup', 'recycling', 'heads', 'lookahead', 'auto', 'none'] as const;
export type DrafterName = (typeof DRAFTER_NAMES)[number];

/** What `--draft` asked for: a named drafter, or a small model (folder) that drafts for the target. */
export type DrafterChoice =
  | { readonly kind: DrafterName }
  | { readonly kind: 'model'; readonly folder: string };

export function drafterLabel(choice: DrafterChoice): string {
  return choice.kind === 'model' ? `draft model ${choice.folder}` : choice.kind;
}

/**
 * `--draft` value -> choice. A value that is not a drafter name must be a model folder; a bare word that is
 * neither is an unknown drafter (exit 2), a path that is not a model folder is a model error (exit 3).
 */
export function parseDrafter(value: string): DrafterChoice {
  const name = value.trim().toLowerCase();
  if ((DRAFTER_NAMES as readonly string[]).includes(name)) return { kind: name as DrafterName };
  const looksLikePath =
    value.includes('/') || value.includes('\\') || value.startsWith('.') || existsSync(value);
  if (!looksLikePath) {
    throw new UsageError(
      `unknown drafter '${value}': use one of ${DRAFTER_NAMES.join(', ')}, or a draft model folder (e.g. ./models/x/draft)`,
      'UNKNOWN_DRAFTER',
    );
  }
  checkModelFolder(value, '--draft');
  return { kind: 'model', folder: resolve(value) };
}

function integer(min: number, what: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n))
      throw new InvalidArgumentError(`expected an integer ${what}`);
    if (n < min) throw new InvalidArgumentError(`expected an integer ${what}`);
    return n;
  };
}

function finite(min: number, max: number, what: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a number ${what}`);
    }
    return n;
  };
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** One integer >= 1 (commander argument parser). */
export function positiveInteger(value: string): number {
  return integer(1, '>= 1')(value);
}

/** Comma-separated positive integers, e.g. `--batch-sizes 1,4,8`. */
export function integerList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const numbers = parts.map(Number);
  if (parts.some((p) => p === '') || numbers.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new InvalidArgumentError('expected comma-separated integers >= 1, e.g. 1,4,8');
  }
  return numbers;
}

export type BackendName = 'node' | 'web';

export interface ModelOptions {
  model?: string;
  backend: BackendName;
  threads?: number;
}

export interface OutputOptions {
  json?: boolean;
  quiet?: boolean;
}

export interface SamplingOptions {
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed?: number;
  stop?: string[];
}

export function addModelOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '-m, --model <folder>',
        'model folder (config.json + model.safetensors + tokenizer)',
      ).default(undefined, `$DENSESSM_MODEL, else the shipped target in models/`),
    )
    .addOption(
      new Option('--backend <name>', 'onnxruntime build to run on').choices(['node', 'web']).default('node'),
    )
    .addOption(
      new Option('-t, --threads <n>', 'CPU threads for onnxruntime (default: its own choice)').argParser(
        integer(1, '>= 1'),
      ),
    );
}

export function addDraftOption(command: Command, defaultValue = 'auto'): Command {
  return command.addOption(
    new Option(
      '-d, --draft <drafter>',
      `speculative drafter: a draft model folder, or ${DRAFTER_NAMES.join('|')} (none = plain decoding)`,
    ).default(defaultValue),
  );
}

export function addSamplingOptions(command: Command, maxTokensDefault = 128): Command {
  return command
    .addOption(
      new Option('-n, --max-tokens <n>', 'most tokens to generate')
        .argParser(integer(1, '>= 1'))
        .default(maxTokensDefault),
    )
    .addOption(
      new Option('--temperature <t>', 'sampling temperature; 0 = greedy (the same text as plain decoding)')
        .argParser(finite(0, 100, 'from 0 to 100'))
        .default(0),
    )
    .addOption(
      new Option('--top-k <k>', 'sample only from the k most likely tokens; 0 = off')
        .argParser(integer(0, '>= 0'))
        .default(0),
    )
    .addOption(
      new Option(
        '--top-p <p>',
        'sample only from the smallest set of tokens whose probability reaches p; 1 = off',
      )
        .argParser(finite(Number.MIN_VALUE, 1, 'in (0, 1]'))
        .default(1),
    )
    .addOption(
      new Option('--seed <n>', 'random seed for sampling (default: random)').argParser(integer(0, '>= 0')),
    )
    .addOption(new Option('--stop <text>', 'stop when this text appears (repeatable)').argParser(collect));
}

export function addOutputOptions(command: Command, jsonHelp: string): Command {
  return command.option('--json', jsonHelp).option('-q, --quiet', 'no progress or stats lines on stderr');
}

/** Checks option combinations commander cannot express. */
export function checkSampling(options: SamplingOptions): void {
  if (options.temperature === 0 && (options.topK !== 0 || options.topP !== 1)) {
    // Greedy ignores them; say so instead of silently doing something the user did not mean.
    throw new UsageError(
      '--top-k/--top-p need --temperature > 0 (temperature 0 is greedy decoding)',
      'INVALID_OPTION',
    );
  }
}
