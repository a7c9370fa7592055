import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', 'src');

describe('the main entry bundles for the browser', () => {
  it('no module reachable from src/index.ts imports a Node built-in (only src/node.ts may)', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(join(SRC, file), 'utf8');
      for (const m of source.matchAll(/from '([^']+)'|import\('([^']+)'\)/g)) {
        const spec = m[1] ?? m[2];
        expect(
          spec.startsWith('node:') || ['fs', 'path', 'os'].includes(spec),
          `${file} imports ${spec}`,
        ).toBe(false);
        if (spec.startsWith('./')) visit(spec.slice(2).replace(/\.js$/, '.ts'));
      }
    };
    visit('index.ts');
    expect(seen.has('node.ts')).toBe(false);
    expect(seen.size).toBe(readdirSync(SRC).filter((f) => f.endsWith('.ts') && f !== 'node.ts').length);
  });
});
