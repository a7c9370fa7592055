import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { findDraftModel, shippedDefaultModel } from '../src/model-location.js';

const made: string[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function modelFolder(parent: string, name: string): Promise<string> {
  const folder = join(parent, name);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'config.json'), '{}');
  return folder;
}

describe('model location', () => {
  it('finds the draft model inside the target, else the one sibling *-draft', async () => {
    const root = await mkdtemp(join(tmpdir(), 'densessm-loc-'));
    made.push(root);
    const target = await modelFolder(root, 'big');
    expect(findDraftModel(target)).toBeNull();
    const sibling = await modelFolder(root, 'small-draft');
    expect(findDraftModel(target)).toBe(sibling);
    await modelFolder(root, 'other-draft');
    expect(findDraftModel(target)).toBeNull();
    const inside = await modelFolder(target, 'draft');
    expect(findDraftModel(target)).toBe(inside);
  });

  it("points at the folder this repository's models/DEFAULT names", () => {
    const models = fileURLToPath(new URL('../../../models/', import.meta.url));
    const marker = join(models, 'DEFAULT');
    const expected = existsSync(marker) ? join(models, readFileSync(marker, 'utf8').trim()) : null;
    expect(shippedDefaultModel()).toBe(
      expected !== null && existsSync(join(expected, 'config.json')) ? expected : null,
    );
  });
});
