#!/usr/bin/env node
/**
 * Runs the conformance op cases on onnxruntime-web's WebGPU execution provider in headless Chromium (Debian's
 * `chromium`, WebGPU on its SwiftShader Vulkan adapter: a CPU implementation of the GPU API, so numerics and
 * kernel coverage are real, speed is not). Not part of CI (it needs chromium); run by hand:
 *
 *   apt-get install -y chromium && node tools/backend-conformance/webgpu/run.mjs
 *
 * Writes tools/backend-conformance/webgpu/results.json: per case, pass/fail, max abs error, and the nodes
 * onnxruntime placed on the CPU instead of WebGPU.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const ortDist = join(root, 'packages/backend-web/node_modules/onnxruntime-web/dist');
const out = mkdtempSync(join(tmpdir(), 'densessm-webgpu-'));

await build({
  entry: { entry: join(here, 'entry.ts') },
  outDir: out,
  format: ['esm'],
  platform: 'browser',
  target: 'es2022',
  external: ['onnxruntime-web'],
  noExternal: [/^(?!onnxruntime-web$).*/],
  splitting: false,
  dts: false,
  silent: true,
});

const page = `<!doctype html><meta charset="utf-8">
<script type="importmap">{ "imports": { "onnxruntime-web": "/ort/ort.bundle.min.mjs" } }</script>
<script type="module" src="/entry.js"></script>`;
const types = {
  '.mjs': 'text/javascript',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.html': 'text/html',
};

let chrome;
const done = new Promise((resolve) => {
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/result') {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        res.end('ok');
        server.close();
        resolve(JSON.parse(body));
      });
      return;
    }
    const url = new URL(req.url, 'http://x');
    let file;
    if (url.pathname === '/') {
      res.setHeader('content-type', 'text/html');
      res.end(page);
      return;
    }
    if (url.pathname.startsWith('/ort/'))
      file = join(ortDist, normalize(url.pathname.slice(5)).replace(/^(\.\.[/\\])+/, ''));
    else file = join(out, normalize(url.pathname).replace(/^(\.\.[/\\])+/, ''));
    try {
      const data = readFileSync(file);
      res.setHeader('content-type', types[extname(file)] ?? 'application/octet-stream');
      res.end(data);
    } catch {
      res.statusCode = 404;
      res.end();
    }
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    chrome = spawn(
      'chromium',
      [
        '--headless=new',
        '--no-sandbox',
        '--enable-unsafe-webgpu',
        '--enable-features=Vulkan',
        '--use-vulkan=swiftshader',
        '--use-webgpu-adapter=swiftshader',
        `--user-data-dir=${join(out, 'profile')}`,
        `http://127.0.0.1:${port}/`,
      ],
      { stdio: 'ignore' },
    );
  });
});
const timer = setTimeout(() => {
  console.error('timed out after 300 s');
  chrome?.kill();
  process.exit(1);
}, 300_000);
const result = await done;
clearTimeout(timer);
if (chrome && chrome.exitCode === null) {
  const exited = new Promise((r) => chrome.once('exit', r));
  chrome.kill();
  await exited;
}
try {
  rmSync(out, { recursive: true, force: true, maxRetries: 5 });
} catch {
  // chromium may still be flushing its profile; the folder is in the temp dir
}
if (result.fatal) {
  console.error(result.fatal);
  process.exit(1);
}
const report = { date: new Date().toISOString(), 'onnxruntime-web': '1.30.0', ...result };
writeFileSync(join(here, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
const failed = result.results.filter((r) => !r.ok);
const fellBack = result.results.filter((r) => r.cpuNodes?.length);
console.log(
  `providers: ${result.providers.join(', ')}; ${result.results.length - failed.length}/${result.results.length} cases pass on WebGPU`,
);
for (const r of failed) console.log(`FAIL ${r.name}: ${r.error}`);
for (const r of result.results.filter((x) => x.ranOn?.[0] !== 'webgpu'))
  console.log(`ran on ${r.ranOn}: ${r.name}`);
for (const r of fellBack) console.log(`CPU in ${r.name}: ${r.cpuNodes.join(' | ')}`);
