// Benchmark (not a test): tokens/s of the browser demo in headless Chromium (onnxruntime-web wasm, 1 and 2
// threads) against backend-node, same model, prompt and drafter, in one run. Median of --runs runs.
// Usage: node bench/web/run.mjs [--runs 3] [--max-tokens 64]   (after `pnpm --filter @densessm/web build`)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from '../../apps/web/node_modules/playwright-core/index.mjs';
import { preview } from '../../apps/web/node_modules/vite/dist/node/index.js';
import { createNodeBackend } from '../../packages/backend-node/dist/index.js';
import { loadModel } from '../../packages/models/dist/index.js';
import {
  autoDrafter,
  generate,
  meanAcceptedLength,
  PromptLookupDrafter,
  TokenRecyclingDrafter,
} from '../../packages/speculative/dist/index.js';
import { loadTokenizerFromDirectory } from '../../packages/tokenizers/dist/node.js';

const root = resolve(import.meta.dirname, '../..');
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, 'max-tokens': { type: 'string', default: '64' } },
});
const runs = Number(values.runs);
const maxTokens = Number(values['max-tokens']);
const prompt = 'def fibonacci(n):';
const drafters = ['none', 'lookup', 'recycling', 'auto'];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** backend-node in this process, warmed up like the page (run 0 is dropped), same prompt and drafters. */
const nodeModelFolder = join(root, 'models', readFileSync(join(root, 'models/DEFAULT'), 'utf8').trim());
const nodeModel = await loadModel(nodeModelFolder, { backend: createNodeBackend({ threads: 1 }) });
const { tokenizer } = await loadTokenizerFromDirectory(nodeModelFolder);
// One drafter per name for the whole run, as the page's worker keeps them (Token Recycling learns across requests).
const nodeDrafters = {
  none: undefined,
  lookup: new PromptLookupDrafter(),
  recycling: new TokenRecyclingDrafter({ vocabSize: nodeModel.vocabSize }),
  auto: autoDrafter({ target: nodeModel }),
};

async function nodeRun(drafter) {
  const started = performance.now();
  const run = generate(nodeModel, [tokenizer.encode(prompt)], {
    maxTokens,
    temperature: 0,
    drafter: nodeDrafters[drafter],
    decoder: { decode: (ids) => tokenizer.decode(ids, { skipSpecialTokens: true }) },
    eosTokenIds: [tokenizer.eosTokenId],
  });
  const result = await run.sequences[0].result;
  const seconds = (performance.now() - started) / 1000;
  return {
    tokensPerSecond: result.tokens.length / seconds,
    meanAcceptedLength: meanAcceptedLength(result.metrics),
    text: result.text,
  };
}

const server = await preview({
  root: join(root, 'apps/web'),
  logLevel: 'error',
  preview: { host: '127.0.0.1', port: 0 },
});
const url = server.resolvedUrls.local[0];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

async function browserRuns(threads) {
  const page = await browser.newPage();
  await page.goto(`${url}?webgpu=0&threads=${threads}`);
  await page.waitForFunction(() => document.body.dataset.state === 'idle', undefined, { timeout: 300_000 });
  const isolated = await page.evaluate(() => crossOriginIsolated);
  const rows = {};
  for (const drafter of drafters) {
    const speeds = [];
    let accepted = 0;
    let text = '';
    for (let r = 0; r <= runs; r++) {
      await page.fill('#prompt', prompt);
      await page.fill('#max-tokens', String(maxTokens));
      await page.selectOption('#drafter', drafter);
      await page.click('#generate');
      await page.waitForFunction(
        () => document.getElementById('stats')?.textContent !== '' && document.body.dataset.state === 'idle',
        undefined,
        { timeout: 300_000 },
      );
      const stats = await page.locator('#stats').textContent();
      text = await page.locator('#output').textContent();
      const tps = Number(/([\d.]+) tokens\/s/.exec(stats)[1]);
      accepted = Number(/mean accepted length ([\d.]+)/.exec(stats)[1]);
      if (r > 0) speeds.push(tps); // run 0 warms up the sessions
    }
    rows[drafter] = { tokensPerSecond: median(speeds), runs: speeds, meanAcceptedLength: accepted, text };
  }
  await page.close();
  return { crossOriginIsolated: isolated, rows };
}

const result = {
  date: new Date().toISOString(),
  loadAverage: loadavg(),
  model: 'models/DEFAULT',
  prompt,
  maxTokens,
  runs,
  node: {},
  browser: {},
};
for (const drafter of drafters) {
  const measured = [];
  for (let r = 0; r <= runs; r++) measured.push(await nodeRun(drafter));
  measured.shift(); // warm-up
  const speeds = measured.map((m) => m.tokensPerSecond);
  const { meanAcceptedLength, text } = measured[measured.length - 1];
  result.node[drafter] = { tokensPerSecond: median(speeds), runs: speeds, meanAcceptedLength, text };
}
for (const threads of [1, 2]) result.browser[`wasm-${threads}-thread`] = await browserRuns(threads);
await browser.close();
await server.close();
await nodeModel.dispose();

for (const [name, b] of Object.entries(result.browser)) {
  for (const d of drafters) {
    b.rows[d].vsNode = b.rows[d].tokensPerSecond / result.node[d].tokensPerSecond;
    b.rows[d].sameTextAsNode = b.rows[d].text === result.node[d].text;
  }
  console.log(
    name,
    'isolated',
    b.crossOriginIsolated,
    Object.fromEntries(drafters.map((d) => [d, b.rows[d].tokensPerSecond.toFixed(1)])),
  );
}
console.log('node', Object.fromEntries(drafters.map((d) => [d, result.node[d].tokensPerSecond.toFixed(1)])));
mkdirSync(join(root, 'bench/results'), { recursive: true });
const file = join(root, 'bench/results/web-vs-node.json');
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log('wrote', file);
