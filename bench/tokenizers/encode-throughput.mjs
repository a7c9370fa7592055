// Encode throughput (MB/s of UTF-8 input) of every @densessm/tokenizers adapter on a 10 MB text.
// A benchmark, not a test: nothing here fails on a timing.
//
//   pnpm --filter @densessm/tokenizers build && node bench/tokenizers/encode-throughput.mjs [--runs=3] [--only=SentencePiece]
//
// The text is the multilingual training corpus of the tokenizer fixtures (Vim tutor in ten languages,
// TypeScript source, emoji lines) repeated to 10 MB. It is encoded in pieces of about 4 KB cut at line
// ends, as prompts arrive, because some tokenizers (LLaMA-style tokenizer.json, SentencePiece BPE) have
// no pre-tokenizer and would otherwise treat 10 MB as one word. Median of 3 runs per adapter.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ByteLevelTokenizer,
  filesFromRecord,
  loadTokenizer,
  TiktokenTokenizer,
} from '../../packages/tokenizers/dist/index.js';
import { loadTokenizerFromDirectory } from '../../packages/tokenizers/dist/node.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const fixtures = join(root, 'packages', 'tokenizers', 'test', 'fixtures');
const TARGET_BYTES = 10 * 1024 * 1024;
const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const RUNS = Number(arg('runs') ?? 3);
const ONLY = arg('only');

const corpus = readFileSync(join(root, 'training', 'tokenizer_fixtures', 'corpus.txt'), 'utf8');
let text = '';
while (Buffer.byteLength(text) < TARGET_BYTES) text += corpus + '\n';
text = Buffer.from(text)
  .subarray(0, TARGET_BYTES)
  .toString('utf8')
  .replace(/\uFFFD$/, '');
const bytes = Buffer.byteLength(text);

const pieces = [];
for (let i = 0; i < text.length; ) {
  let end = text.indexOf('\n', i + 4096);
  end = end < 0 ? text.length : end + 1;
  pieces.push(text.slice(i, end));
  i = end;
}

const adapters = [
  ['byte-level', async () => new ByteLevelTokenizer()],
  [
    'tokenizer.json byte-level BPE (GPT-NeoX style, vocab 2003)',
    async () => (await loadTokenizerFromDirectory(join(fixtures, 'bytelevel-bpe'))).tokenizer,
  ],
  [
    'tokenizer.json LLaMA-style BPE + byte fallback (vocab 2056)',
    async () => (await loadTokenizerFromDirectory(join(fixtures, 'llama-bpe'))).tokenizer,
  ],
  [
    'tokenizer.json Unigram (vocab 4000)',
    async () => (await loadTokenizerFromDirectory(join(fixtures, 'unigram'))).tokenizer,
  ],
  [
    'SentencePiece .model BPE + byte fallback (vocab 3000)',
    async () => (await loadTokenizerFromDirectory(join(fixtures, 'spm-bpe'))).tokenizer,
  ],
  [
    'SentencePiece .model Unigram (vocab 3000)',
    async () => (await loadTokenizerFromDirectory(join(fixtures, 'spm-unigram'))).tokenizer,
  ],
  [
    'SentencePiece .model Unigram nmt_nfkc (vocab 3000)',
    async () => (await loadTokenizerFromDirectory(join(fixtures, 'spm-unigram-nfkc'))).tokenizer,
  ],
  [
    'tiktoken rank file (vocab 2001)',
    async () => (await loadTokenizerFromDirectory(join(fixtures, 'tiktoken'))).tokenizer,
  ],
  ['tiktoken cl100k_base (named, js-tiktoken ranks)', async () => TiktokenTokenizer.fromName('cl100k_base')],
  [
    'tiktoken o200k_base (named, js-tiktoken ranks)',
    async () => (await loadTokenizer(filesFromRecord({}), { encoding: 'o200k_base' })).tokenizer,
  ],
];

const loadAtStart = os.loadavg().map((x) => +x.toFixed(2));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = [];
for (const [name, make] of adapters) {
  if (ONLY && !name.includes(ONLY)) continue;
  const t0 = performance.now();
  const tok = await make();
  const loadMs = performance.now() - t0;
  const seconds = [];
  let tokens = 0;
  for (let r = 0; r < RUNS; r++) {
    tokens = 0;
    const start = performance.now();
    for (const p of pieces) tokens += tok.encode(p, { addSpecialTokens: false }).length;
    seconds.push((performance.now() - start) / 1000);
  }
  const s = median(seconds);
  const row = {
    adapter: name,
    kind: tok.kind,
    mb_per_s: +(bytes / 1e6 / s).toFixed(2),
    seconds_median: +s.toFixed(3),
    seconds_runs: seconds.map((x) => +x.toFixed(3)),
    tokens,
    bytes_per_token: +(bytes / tokens).toFixed(3),
    load_ms: +loadMs.toFixed(1),
  };
  results.push(row);
  console.log(
    `${name.padEnd(62)} ${String(row.mb_per_s).padStart(7)} MB/s  (${row.seconds_median}s, ${tokens} tokens)`,
  );
}

const out = {
  benchmark: 'tokenizers encode throughput',
  date: new Date().toISOString(),
  text: { bytes, pieces: pieces.length, source: 'training/tokenizer_fixtures/corpus.txt repeated' },
  runs: RUNS,
  machine: {
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    node: process.version,
    platform: process.platform,
  },
  // Other work shares this machine; a load average well above the core count depresses every number.
  load_average_at_start: loadAtStart,
  load_average_at_end: os.loadavg().map((x) => +x.toFixed(2)),
  results,
};
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
const file = join(root, 'bench', 'results', `tokenizers-encode-throughput${ONLY ? '-partial' : ''}.json`);
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${file}`);
