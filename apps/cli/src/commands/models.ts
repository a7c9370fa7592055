import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type DrafterAssets, listShippedModels, shippedModelsDir } from '../model-location.js';
import { displayPath, formatBytes, formatTable, painter, writeOut } from '../terminal.js';

export interface ModelsCommandOptions {
  json?: boolean;
}

/** `densessm models`: what ships under models/ and where. */
export async function runModels(options: ModelsCommandOptions): Promise<void> {
  const dir = shippedModelsDir();
  const models = listShippedModels(dir).map((m) => ({ ...m, bytes: folderBytes(m.folder) }));
  if (options.json) {
    await writeOut(`${JSON.stringify({ modelsDir: dir ?? null, models }, null, 2)}\n`);
    return;
  }
  const paint = painter(process.stdout);
  if (dir === undefined || models.length === 0) {
    await writeOut(
      `No shipped models found${dir ? ` in ${dir}` : ''}.\n` +
        'Point --model (or $DENSESSM_MODEL) at a folder with config.json, model.safetensors and tokenizer.json.\n',
    );
    return;
  }
  const rows = models.map((m) => [
    m.isDefault ? `${m.name} (default)` : m.draftFor ? `${m.name} (draft of ${m.draftFor})` : m.name,
    m.modelType,
    formatBytes(m.bytes),
    assetNames(m.assets) || '-',
    displayPath(m.folder),
  ]);
  await writeOut(`${formatTable(['name', 'type', 'size', 'drafter assets', 'folder'], rows)}\n`);
  await writeOut(
    paint('dim', `\nModels folder: ${dir}\nUse one with --model <folder> or DENSESSM_MODEL=<folder>.\n`),
  );
}

function assetNames(assets: DrafterAssets): string {
  return (Object.keys(assets) as (keyof DrafterAssets)[])
    .filter((k) => assets[k] !== undefined)
    .map((k) => (k === 'draftModel' ? 'draft model' : k))
    .join(', ');
}

/** Bytes on disk of a folder, recursively. */
export function folderBytes(folder: string): number {
  let total = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) total += folderBytes(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}
