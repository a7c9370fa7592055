import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export default defineConfig({
  entry: { cli: 'src/cli.ts' },
  format: ['esm'],
  // One runnable file: commander and cli-progress are bundled in; the @densessm packages (and onnxruntime,
  // which has native binaries) are resolved from node_modules at run time.
  noExternal: ['commander', 'cli-progress'],
  external: [/^@densessm\//, /^onnxruntime-/],
  splitting: false,
  dts: false,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  banner: {
    // cli-progress is CommonJS and requires Node built-ins; give the ESM bundle a real `require` for them.
    js: "#!/usr/bin/env node\nimport { createRequire as __densessmCreateRequire } from 'node:module';\nconst require = __densessmCreateRequire(import.meta.url);",
  },
  define: { __DENSESSM_VERSION__: JSON.stringify(version) },
});
