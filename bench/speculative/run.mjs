// Speculative decoding benchmark: plain greedy vs each drafter on bench/prompts/*, batch 1 and 8, median of
// >= 3 runs in one process; JSON to bench/results/speculative-<model>-<stamp>.json.
// Usage (after `pnpm turbo run build --filter=@densessm/speculative...`):
//   node bench/speculative/run.mjs [--model models/dense-retnet-23m] [--draft models/dense-retnet-2.6m-draft]
//     [--max-tokens 64] [--runs 3] [--threads 2] [--sets code-completion,...] [--batch-sizes 1,8] [--drafters a,b]
// With a model folder: its tokenizer.json encodes the prompts (after id 0, <|endoftext|>, as the models were
// trained), and its medusa_heads.safetensors / lookahead.safetensors and --draft add those drafters.
// With --model random: a random-weight DenseRetNet of the DESIGN.md section 7 probe shape (hidden 512, 12 layers,
// qk 256, v_factor 2, 2 heads, vocab 8192), prompts as UTF-8 bytes: real speeds, random-weight acceptance.

import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const packages = join(root, 'packages');
const { createNodeBackend } = await import(join(packages, 'backend-node/dist/index.js'));
const { loadModel, resolveConfig } = await import(join(packages, 'models/dist/index.js'));
const { float32 } = await import(join(packages, 'tensor/dist/index.js'));
const { writeSafetensorsFile } = await import(join(packages, 'tensor/dist/node.js'));
const spec = await import(join(packages, 'speculative/dist/index.js'));
const { loadTokenizerFromDirectory } = await import(join(packages, 'tokenizers/dist/node.js'));
const { readSafetensorsFile } = await import(join(packages, 'tensor/dist/node.js'));

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    draft: { type: 'string' },
    drafters: { type: 'string' },
    'max-tokens': { type: 'string', default: '64' },
    runs: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    sets: { type: 'string' },
    'batch-sizes': { type: 'string', default: '1,8' },
  },
});

/** A random checkpoint of `config`, N(0, 1/fan_in) matrices and unit norms, from a fixed seed. */
async function randomCheckpoint(config, seed) {
  const dir = join(
    tmpdir(),
    `densessm-bench-${config.model_type}-${config.hidden_size}x${config.num_hidden_layers}-${seed}`,
  );
  if (existsSync(join(dir, 'model.safetensors'))) return dir;
  await mkdir(dir, { recursive: true });
  const { architecture, config: parsed } = resolveConfig(config, 'bench config');
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  const tensors = new Map();
  for (const w of architecture.weightSpecs(parsed)) {
    const n = w.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const scale =
      w.shape.length === 1 ? 0 : w.name.includes('embed') ? 1 : 1 / Math.sqrt(w.shape[w.shape.length - 1]);
    for (let i = 0; i < n; i++) {
      // Irwin-Hall(3) approximates a normal well enough for random weights.
      data[i] = w.shape.length === 1 ? 1 : (uniform() + uniform() + uniform() - 1.5) * 2 * scale;
    }
    tensors.set(w.name, float32(w.shape, data));
  }
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  await writeSafetensorsFile(join(dir, 'model.safetensors'), tensors);
  return dir;
}

const probe = {
  model_type: 'dense_retnet',
  hidden_size: 512,
  query_key_dim: 256,
  num_attention_heads: 2,
  v_factor: 2,
  num_hidden_layers: 12,
  vocab_size: 8192,
  rms_norm_eps: 1e-6,
  dense_block_layers: 2,
  tie_word_embeddings: false,
};
const shipped = join(root, 'models', readFileSync(join(root, 'models', 'DEFAULT'), 'utf8').trim());
const random = values.model === 'random';
const folder = random ? await randomCheckpoint(probe, 1) : (values.model ?? shipped);
const backend = createNodeBackend({ threads: Number(values.threads) });
const model = await loadModel(folder, { backend });
const tokenizer = existsSync(join(folder, 'tokenizer.json'))
  ? (await loadTokenizerFromDirectory(folder)).tokenizer
  : undefined;
const bytes = new TextEncoder();
const encode = (text) => (tokenizer ? [0, ...tokenizer.encode(text)] : [...bytes.encode(text)]);

const promptDir = join(root, 'bench', 'prompts');
const wanted = values.sets?.split(',');
const promptSets = [];
for (const file of (await readdir(promptDir)).filter((f) => f.endsWith('.jsonl')).sort()) {
  const name = basename(file, '.jsonl');
  if (wanted && !wanted.includes(name)) continue;
  const lines = (await readFile(join(promptDir, file), 'utf8')).split('\n').filter((l) => l.trim());
  promptSets.push({ name, prompts: lines.map((l) => Int32Array.from(encode(JSON.parse(l).prompt))) });
}

const draftModel = values.draft ? await loadModel(values.draft, { backend }) : undefined;
const asset = async (file) =>
  existsSync(join(folder, file)) ? readSafetensorsFile(join(folder, file)) : undefined;
const medusaHeads = await asset('medusa_heads.safetensors');
const lookahead = await asset('lookahead.safetensors');
const all = {
  'prompt-lookup': () => new spec.PromptLookupDrafter(),
  'token-recycling': () => new spec.TokenRecyclingDrafter({ vocabSize: model.vocabSize }),
  ...(draftModel && { 'draft-model': () => new spec.DraftModelDrafter({ model: draftModel }) }),
  ...(medusaHeads && { 'medusa-heads': () => spec.medusaHeadsFromTensors(model, medusaHeads) }),
  ...(lookahead && { 'pass-lookahead': () => spec.lookaheadFromTensors(model, lookahead) }),
  auto: () => spec.autoDrafter({ target: model, draftModel, medusaHeads }),
};
const drafters = Object.fromEntries(
  Object.entries(all).filter(([name]) => !values.drafters || values.drafters.split(',').includes(name)),
);

const started = new Date();
const rows = await spec.runSpeculativeBench({
  model,
  promptSets,
  drafters,
  batchSizes: values['batch-sizes'].split(',').map(Number),
  runs: Number(values.runs),
  maxTokens: Number(values['max-tokens']),
  onProgress: (r) =>
    console.log(
      `${r.promptSet.padEnd(20)} ${r.drafter.padEnd(16)} b=${r.batchSize} ${r.tokensPerSecond.toFixed(1).padStart(7)} tok/s x${r.speedup.toFixed(2)} MAL ${r.meanAcceptedLength.toFixed(2)} ${r.msPerTargetPass.toFixed(1)} ms/pass same=${r.identicalToPlain}`,
    ),
});
const report = {
  schema: 'densessm-speculative-bench/1',
  date: started.toISOString(),
  model: random ? { randomWeights: probe } : basename(folder),
  draft: values.draft ? basename(values.draft) : undefined,
  modelType: model.modelType,
  threads: Number(values.threads),
  maxTokens: Number(values['max-tokens']),
  runs: Number(values.runs),
  tokenizer: tokenizer ? 'tokenizer.json, prompts after id 0' : 'byte-level (UTF-8 bytes as ids)',
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
  // Other work on the machine skews absolute speeds; ratios are measured interleaved, run by run.
  loadAverage1mAtEnd: loadavg()[0],
  rows,
};
await mkdir(join(root, 'bench', 'results'), { recursive: true });
const out = join(
  root,
  'bench',
  'results',
  `speculative-${random ? 'random-dense-retnet-31m' : basename(folder)}-${started.toISOString().slice(0, 16).replace(/-|:/g, '').replace('T', '-')}.json`,
);
await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`wrote ${out}`);
await model.dispose();
await draftModel?.dispose();
