/**
 * End to end in real headless Chromium (Debian's `chromium`, driven by playwright-core): the built page loads
 * the shipped default model with onnxruntime-web in a worker and must produce exactly the greedy text that
 * backend-node produces for the same model and prompt.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createNodeBackend } from '@densessm/backend-node';
import { loadModel } from '@densessm/models';
import { generate } from '@densessm/speculative';
import { loadTokenizer } from '@densessm/tokenizers';
import { filesFromDirectory } from '@densessm/tokenizers/node';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const appDir = resolve(import.meta.dirname, '..');
const modelsDir = resolve(appDir, '../../models');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PROMPT = 'def fibonacci(n):';
const MAX_TOKENS = 24;

/** The page's default model: the one models/DEFAULT names (as the CLI reads it). */
function defaultModelFolder(): string {
  const folder = join(modelsDir, readFileSync(join(modelsDir, 'DEFAULT'), 'utf8').trim());
  if (!existsSync(join(folder, 'config.json')))
    throw new Error(`models/DEFAULT names ${folder}, which has no config.json`);
  return folder;
}

async function nodeGreedyText(folder: string): Promise<string> {
  const model = await loadModel(folder, { backend: createNodeBackend({ threads: 1 }) });
  const { tokenizer } = await loadTokenizer(await filesFromDirectory(folder));
  const eos = tokenizer.eosTokenId;
  const run = generate(model, [tokenizer.encode(PROMPT)], {
    maxTokens: MAX_TOKENS,
    temperature: 0,
    decoder: { decode: (ids) => tokenizer.decode(ids, { skipSpecialTokens: true }) },
    eosTokenIds: eos === undefined ? [] : [eos],
  });
  const text = (await run.sequences[0].result).text;
  await model.dispose();
  return text;
}

describe('browser demo (headless Chromium, onnxruntime-web)', () => {
  let server: PreviewServer;
  let browser: Browser;
  let baseUrl: string;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install it with 'apt-get install -y chromium' (or set CHROMIUM_PATH)`,
      );
    }
    if (!existsSync(join(appDir, 'dist', 'index.html')))
      throw new Error('apps/web is not built: run `pnpm --filter @densessm/web build`');
    server = await preview({
      root: appDir,
      logLevel: 'error',
      preview: { host: '127.0.0.1', port: 0, strictPort: false },
    });
    baseUrl = server.resolvedUrls?.local[0] ?? '';
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function openPage(query: string): Promise<Page> {
    const page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(`${baseUrl}${query}`);
    return page;
  }

  async function waitIdle(page: Page): Promise<void> {
    await page.waitForFunction(
      () => document.body.dataset.state !== 'loading' && document.body.dataset.state !== 'generating',
      undefined,
      {
        timeout: 240_000,
      },
    );
    expect((await page.locator('#error').textContent()) ?? '').toBe('');
  }

  it('generates greedily the same text as backend-node, with speculative decoding, and stops on request', async () => {
    const expected = await nodeGreedyText(defaultModelFolder());
    const page = await openPage('?webgpu=0&threads=1');
    await waitIdle(page);
    await page.fill('#prompt', PROMPT);
    await page.fill('#max-tokens', String(MAX_TOKENS));
    await page.fill('#temperature', '0');
    await page.selectOption('#drafter', 'auto');
    await page.click('#generate');
    await page.waitForFunction(
      () => document.getElementById('stats')?.textContent !== '' || document.body.dataset.state === 'error',
      undefined,
      {
        timeout: 240_000,
      },
    );
    await waitIdle(page);
    expect(await page.locator('#output').textContent()).toBe(expected);
    expect(await page.locator('#stats').textContent()).toMatch(
      /tokens\/s, mean accepted length [\d.]+, drafter auto/,
    );

    mkdirSync(join(appDir, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(appDir, 'test-results', 'browser-demo.png'), fullPage: true });

    // Stop: a long generation ends early with finish reason abort.
    await page.fill('#max-tokens', '2000');
    await page.selectOption('#drafter', 'none');
    await page.click('#generate');
    await page.waitForFunction(
      () => (document.getElementById('output')?.textContent ?? '').length > 0,
      undefined,
      { timeout: 120_000 },
    );
    await page.click('#stop');
    await page.waitForFunction(() => document.getElementById('stats')?.textContent !== '', undefined, {
      timeout: 120_000,
    });
    const stats = (await page.locator('#stats').textContent()) ?? '';
    expect(stats).toContain('finish: abort');
    expect(Number(stats.split(' ')[0])).toBeLessThan(2000);
    expect(consoleErrors).toEqual([]);
    await page.close();
  });

  it('shows a readable error for a bad model URL', async () => {
    const page = await openPage('?webgpu=0&threads=1&model=/no-such-model/');
    await page.waitForFunction(() => document.body.dataset.state === 'error', undefined, { timeout: 60_000 });
    const error = (await page.locator('#error').textContent()) ?? '';
    expect(error).toMatch(/^Error: .*no-such-model/);
    await page.close();
  });
});
