import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the folder with pnpm-workspace.yaml) above this file, in `src/` or `dist/`. */
function repoRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

const hasConfig = (folder: string) => existsSync(join(folder, 'config.json'));

/**
 * The shipped default model (the same one the CLI uses): the folder `models/DEFAULT` names, in the
 * repository this server runs from. Null when there is none (an installed package, or no models yet).
 */
export function shippedDefaultModel(): string | null {
  const root = repoRoot();
  if (root === null) return null;
  const marker = join(root, 'models', 'DEFAULT');
  if (!existsSync(marker)) return null;
  const folder = join(root, 'models', readFileSync(marker, 'utf8').trim());
  return hasConfig(folder) ? folder : null;
}

/**
 * The draft model of a target, by the CLI's conventions: `<model>/draft`, else the only sibling folder whose
 * name ends in `-draft`.
 */
export function findDraftModel(modelFolder: string): string | null {
  const inside = join(modelFolder, 'draft');
  if (hasConfig(inside)) return inside;
  const parent = dirname(modelFolder);
  if (!existsSync(parent)) return null;
  const siblings = readdirSync(parent)
    .filter((name) => name !== basename(modelFolder) && name.endsWith('-draft'))
    .map((name) => join(parent, name))
    .filter(hasConfig);
  return siblings.length === 1 ? siblings[0]! : null;
}
