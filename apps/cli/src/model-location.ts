import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelFolderError } from './errors.js';

/** Environment variable that overrides the default model folder (the shipped target). */
export const MODEL_ENV = 'DENSESSM_MODEL';

/**
 * The repository root, found by walking up from this file to the folder with pnpm-workspace.yaml: the bundle
 * lives in `apps/cli/dist/`, the sources in `apps/cli/src/`, and both sit under it.
 */
export function repoRoot(from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The repository's `models/` folder: what ships. */
export function shippedModelsDir(): string | undefined {
  const root = repoRoot();
  return root !== undefined && isDirectory(join(root, 'models')) ? join(root, 'models') : undefined;
}

export interface ShippedModel {
  readonly name: string;
  readonly folder: string;
  readonly modelType: string;
  /** True for the folder `generate` uses when no --model is given. */
  readonly isDefault: boolean;
  /** Trained drafter assets found for this folder. */
  readonly assets: DrafterAssets;
  /** The shipped model this folder is the draft model of, if any. */
  readonly draftFor?: string;
}

/** Every model folder directly under `models/`, default first. */
export function listShippedModels(modelsDir = shippedModelsDir()): ShippedModel[] {
  if (modelsDir === undefined) return [];
  const names = readdirSync(modelsDir)
    .filter((name) => !name.startsWith('.') && isModelFolder(join(modelsDir, name)))
    .sort();
  const defaultName = pickDefaultName(modelsDir, names);
  const models = names.map((name) => {
    const folder = join(modelsDir, name);
    return {
      name,
      folder,
      modelType: readModelType(folder),
      isDefault: name === defaultName,
      assets: findDrafterAssets(folder),
    };
  });
  return models
    .map((m) => ({ ...m, draftFor: models.find((t) => t.assets.draftModel === m.folder)?.name }))
    .sort((a, b) => Number(b.isDefault) - Number(a.isDefault));
}

/**
 * Which shipped folder is the target: the name in `models/DEFAULT` if the training scripts wrote one, else the
 * only folder, else the largest `model.safetensors` (the others being helpers).
 */
function pickDefaultName(modelsDir: string, names: readonly string[]): string | undefined {
  const marker = join(modelsDir, 'DEFAULT');
  if (existsSync(marker)) {
    const named = readFileSync(marker, 'utf8').trim();
    if (names.includes(named)) return named;
  }
  if (names.length <= 1) return names[0];
  let best: string | undefined;
  let bestBytes = -1;
  for (const name of names) {
    const bytes = weightBytes(join(modelsDir, name));
    if (bytes > bestBytes) {
      best = name;
      bestBytes = bytes;
    }
  }
  return best;
}

function weightBytes(folder: string): number {
  let total = 0;
  for (const file of readdirSync(folder)) {
    if (file.endsWith('.safetensors')) total += statSync(join(folder, file)).size;
  }
  return total;
}

/** The folder a command runs on: --model, else $DENSESSM_MODEL, else the shipped default; checked to exist. */
export function resolveModelFolder(option: string | undefined): string {
  const fromEnv = process.env[MODEL_ENV];
  const chosen = option ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined);
  if (chosen !== undefined) {
    checkModelFolder(chosen, option !== undefined ? '--model' : `$${MODEL_ENV}`);
    return resolve(chosen);
  }
  const shipped = listShippedModels().find((m) => m.isDefault);
  if (shipped === undefined) {
    throw new ModelFolderError(
      'NO_SHIPPED_MODEL',
      'no shipped model found under models/; pass --model <folder> (a folder with config.json) or set DENSESSM_MODEL',
    );
  }
  return shipped.folder;
}

export function checkModelFolder(folder: string, source = '--model'): void {
  if (!existsSync(folder)) {
    throw new ModelFolderError(
      'MODEL_NOT_FOUND',
      `model folder '${folder}' (from ${source}) does not exist; run 'densessm models' to see what ships`,
    );
  }
  if (!isDirectory(folder)) {
    throw new ModelFolderError(
      'NOT_A_MODEL',
      `'${folder}' (from ${source}) is a file; point ${source} at the folder that holds config.json`,
    );
  }
  if (!existsSync(join(folder, 'config.json'))) {
    throw new ModelFolderError(
      'NOT_A_MODEL',
      `'${folder}' (from ${source}) is not a model folder: it has no config.json; see models/README.md for the layout`,
    );
  }
}

export function readConfigJson(folder: string): Record<string, unknown> {
  const file = join(folder, 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ModelFolderError('INVALID_MODEL', `cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new ModelFolderError(
      'INVALID_MODEL',
      `${file} is not a JSON object (${(error as Error).message}); fix or re-export it`,
    );
  }
}

function readModelType(folder: string): string {
  try {
    const type = readConfigJson(folder).model_type;
    return typeof type === 'string' ? type : '?';
  } catch {
    return '?';
  }
}

function isModelFolder(folder: string): boolean {
  return isDirectory(folder) && existsSync(join(folder, 'config.json'));
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Where a model folder's trained drafter assets are (models/README.md): a draft model in `draft/` (or a
 * sibling folder named `<something>-draft`), Medusa heads in `heads/` or `*heads*.safetensors`, PaSS lookahead
 * embeddings in `lookahead/` or `lookahead*.safetensors`.
 */
export interface DrafterAssets {
  readonly draftModel?: string;
  readonly heads?: string;
  readonly lookahead?: string;
}

function safetensorsIn(folder: string, matches: (name: string) => boolean): string | undefined {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) return undefined;
  const file = readdirSync(folder)
    .filter((f) => f.endsWith('.safetensors') && matches(f))
    .sort()[0];
  return file === undefined ? undefined : join(folder, file);
}

export function findDrafterAssets(modelFolder: string): DrafterAssets {
  const hasConfig = (f: string) => existsSync(join(f, 'config.json'));
  const inside = join(modelFolder, 'draft');
  const siblings = existsSync(dirname(modelFolder))
    ? readdirSync(dirname(modelFolder))
        .filter((n) => n !== basename(modelFolder) && n.endsWith('-draft'))
        .map((n) => join(dirname(modelFolder), n))
        .filter(hasConfig)
    : [];
  return {
    draftModel: hasConfig(inside) ? inside : siblings.length === 1 ? siblings[0] : undefined,
    heads:
      safetensorsIn(join(modelFolder, 'heads'), () => true) ??
      safetensorsIn(modelFolder, (f) => f.includes('heads')),
    lookahead:
      safetensorsIn(join(modelFolder, 'lookahead'), () => true) ??
      safetensorsIn(modelFolder, (f) => f.startsWith('lookahead')),
  };
}
