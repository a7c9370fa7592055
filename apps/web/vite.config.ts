import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const repoModels = resolve(import.meta.dirname, '../../models');
const ortDist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));

/** Cross-origin isolation lets onnxruntime-web use wasm threads (SharedArrayBuffer). */
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

interface ModelIndex {
  /** The folder the page loads by default: named in models/DEFAULT (as the CLI reads it). */
  default: string | undefined;
  /** Each shipped model folder with the files a static host must serve (the page cannot list folders). */
  models: Record<string, string[]>;
}

function modelIndex(): ModelIndex {
  if (!existsSync(repoModels)) return { default: undefined, models: {} };
  const index: Record<string, string[]> = {};
  for (const name of readdirSync(repoModels)) {
    const folder = join(repoModels, name);
    if (!existsSync(join(folder, 'config.json'))) continue;
    index[name] = filesUnder(folder)
      .map((f) => relative(folder, f).split(sep).join('/'))
      .filter((f) => !f.endsWith('.md'));
  }
  const marker = join(repoModels, 'DEFAULT');
  const named = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : undefined;
  return {
    default: named !== undefined && named in index ? named : Object.keys(index).sort()[0],
    models: index,
  };
}

const ortFiles = () => readdirSync(ortDist).filter((f) => /^ort-wasm.*\.(wasm|mjs)$/.test(f));

/**
 * Serves the repo's models/ and onnxruntime-web's wasm files in dev/preview, and copies them into the build
 * so that any static host can serve the page.
 */
function staticAssets(): Plugin {
  let outDir = 'dist';
  const serve: Plugin['configureServer'] = (server) => {
    server.middlewares.use((req, res, next) => {
      const url = decodeURIComponent((req.url ?? '').split('?')[0]);
      if (url === '/models/index.json') {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify(modelIndex()));
        return;
      }
      let root: string | undefined;
      if (url.startsWith('/models/')) root = repoModels;
      else if (url.startsWith('/ort/')) root = ortDist;
      if (!root) {
        next();
        return;
      }
      const file = join(root, url.slice(url.indexOf('/', 1) + 1));
      // A missing model file must be a 404 (the loader probes optional files), not the SPA's index.html.
      if (!file.startsWith(root) || !existsSync(file) || statSync(file).isDirectory()) {
        res.statusCode = 404;
        res.end('not found');
        return;
      }
      for (const [k, v] of Object.entries(isolationHeaders)) res.setHeader(k, v);
      if (file.endsWith('.wasm')) res.setHeader('Content-Type', 'application/wasm');
      if (file.endsWith('.mjs')) res.setHeader('Content-Type', 'text/javascript');
      res.setHeader('Content-Length', statSync(file).size);
      createReadStream(file).pipe(res);
    });
  };
  return {
    name: 'densessm-static-assets',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    configureServer: serve,
    configurePreviewServer: serve as Plugin['configurePreviewServer'],
    async writeBundle() {
      const index = modelIndex();
      await mkdir(join(outDir, 'models'), { recursive: true });
      const { writeFile } = await import('node:fs/promises');
      await writeFile(join(outDir, 'models', 'index.json'), JSON.stringify(index));
      for (const [name, files] of Object.entries(index.models)) {
        for (const f of files) {
          const target = join(outDir, 'models', name, f);
          await mkdir(dirname(target), { recursive: true });
          await copyFile(join(repoModels, name, f), target);
        }
      }
      await mkdir(join(outDir, 'ort'), { recursive: true });
      for (const f of ortFiles()) await copyFile(join(ortDist, f), join(outDir, 'ort', f));
    },
  };
}

export default defineConfig({
  plugins: [staticAssets()],
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
  worker: { format: 'es' },
  build: { target: 'es2022' },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
});
