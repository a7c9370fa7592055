import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');

/** Publishable packages: every packages/* that is not private. */
function publishablePackages(): { dir: string; name: string }[] {
  return readdirSync(join(root, 'packages')).flatMap((entry) => {
    const dir = join(root, 'packages', entry);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    return manifest.private ? [] : [{ dir, name: manifest.name as string }];
  });
}

describe('packed packages work outside the workspace', () => {
  let scratch: string;
  let report: Record<string, unknown>;

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'densessm-pack-'));
    const tarballs = publishablePackages().map(({ dir }) => {
      const out = execFileSync('pnpm', ['pack', '--pack-destination', scratch], {
        cwd: dir,
        encoding: 'utf8',
      });
      const file = out.trim().split('\n').pop()!.trim();
      return resolve(dir, file);
    });
    writeFileSync(
      join(scratch, 'package.json'),
      JSON.stringify({ name: 'scratch', private: true, type: 'module' }),
    );
    execFileSync(
      'npm',
      ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', ...tarballs],
      {
        cwd: scratch,
        env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
        stdio: 'inherit',
      },
    );
    copyFileSync(join(import.meta.dirname, '../scratch/use-packages.mjs'), join(scratch, 'use-packages.mjs'));
    const stdout = execFileSync('node', ['use-packages.mjs'], { cwd: scratch, encoding: 'utf8' });
    report = JSON.parse(stdout.trim().split('\n').pop()!);
  });

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('installs only the tarballs for our packages (no workspace links)', () => {
    const installed = readdirSync(join(scratch, 'node_modules', '@densessm')).sort();
    expect(installed).toEqual(
      publishablePackages()
        .map((p) => p.name.replace('@densessm/', ''))
        .sort(),
    );
  });

  it('tensor: safetensors round trip', () => {
    expect(report.safetensors).toEqual([1.5, -2]);
  });

  it('backend-node and backend-web run a graph built by tensor', () => {
    expect(report.nodeSum).toEqual([11, 22, 33]);
    expect(report.webSum).toEqual([11, 22, 33]);
  });

  it('models: a tiny model loads and generates; speculative decoding reproduces greedy', () => {
    const greedy = report.greedy as number[];
    expect(greedy).toHaveLength(12);
    expect(greedy.every((t) => Number.isInteger(t) && t >= 0 && t < 97)).toBe(true);
    expect(report.speculative).toEqual(greedy);
  });

  it('tokenizers: byte-level round trip', () => {
    expect(report.tokenizerRoundTrip).toBe(true);
  });
});
