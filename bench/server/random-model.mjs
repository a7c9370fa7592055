#!/usr/bin/env node
// Writes a random-weight model folder with the shipped tokenizer, for benchmarking the server before (or
// besides) a trained model. Random weights say nothing about acceptance rates on real text; they do measure
// the serving path (batching, scheduling, HTTP/SSE overhead) at a realistic model size.
//
//   node bench/server/random-model.mjs --preset probe --out /tmp/densessm-probe
import { copyFile, cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { out: { type: 'string' }, preset: { type: 'string', default: 'probe' } },
});
const PRESETS = {
  // DESIGN.md section 7's DenseRetNet probe shape: hidden 512, 12 layers, qk 256, value width 1024, 2 heads, vocab 8192.
  probe: { hidden_size: 512, num_hidden_layers: 12, query_key_dim: 256, num_attention_heads: 2, v_factor: 2 },
  small: { hidden_size: 256, num_hidden_layers: 6, query_key_dim: 128, num_attention_heads: 2, v_factor: 2 },
  tiny: { hidden_size: 64, num_hidden_layers: 2, query_key_dim: 32, num_attention_heads: 2, v_factor: 2 },
};
const preset = PRESETS[values.preset];
if (!values.out || !preset) {
  console.error(`usage: random-model.mjs --out DIR [--preset ${Object.keys(PRESETS).join('|')}]`);
  process.exit(2);
}
const root = new URL('../../', import.meta.url);
// The built testing entry of @densessm/models (bench/ is not a workspace package, so import it by path).
const { randomCheckpoint } = await import(new URL('packages/models/dist/testing.js', root).href);
const folder = await randomCheckpoint(
  { model_type: 'dense_retnet', vocab_size: 8192, rms_norm_eps: 1e-6, dense_block_layers: 2, ...preset },
  20261122,
);
for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
  await copyFile(fileURLToPath(new URL(`training/tokenizer/${file}`, root)), join(folder, file));
}
await rm(values.out, { recursive: true, force: true });
await cp(folder, values.out, { recursive: true });
await rm(folder, { recursive: true, force: true });
console.log(values.out);
