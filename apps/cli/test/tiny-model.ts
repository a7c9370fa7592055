import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRng } from '@densessm/models';
// The models package's own checkpoint writer: random weights for every tensor its architecture expects.
import { normals, randomCheckpoint } from '@densessm/models/testing';
import { float32 } from '@densessm/tensor';
import { writeSafetensorsFile } from '@densessm/tensor/node';

/** A small dense_retnet: fast to load and run, with every kind of tensor (dense k/v fusion on). */
export const TINY_CONFIG = {
  model_type: 'dense_retnet',
  vocab_size: 261,
  hidden_size: 32,
  query_key_dim: 16,
  num_attention_heads: 2,
  v_factor: 2,
  num_hidden_layers: 2,
  dense_block_layers: 1,
  rms_norm_eps: 1e-6,
  tie_word_embeddings: false,
};

export const SPECIAL_TOKENS = [
  '<|endoftext|>',
  '<|system|>',
  '<|user|>',
  '<|assistant|>',
  '<|end|>',
] as const;

/** GPT-2's reversible byte -> printable character table, which byte-level BPE vocabularies are written in. */
function byteToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCodePoint(printable.includes(b) ? b : 256 + extra++);
  }
  return table;
}

/**
 * A Hugging Face tokenizer.json for a byte-level BPE with no merges (one token per byte, ids 0..255) plus the
 * special tokens above (ids 256..), and a tokenizer_config.json with EOS and a chat template: the standard
 * files a real checkpoint ships, small enough for a test.
 */
export async function writeByteTokenizer(folder: string, options: { eos?: boolean } = {}): Promise<void> {
  const vocab: Record<string, number> = {};
  byteToUnicode().forEach((ch, id) => {
    vocab[ch] = id;
  });
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    // Without EOS the end token gets a name no tokenizer takes for EOS by default.
    added_tokens: SPECIAL_TOKENS.map((name, i) => ({
      id: 256 + i,
      content: options.eos === false && i === 0 ? '<|end-of-test|>' : name,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: [],
    },
  };
  const config = {
    eos_token: options.eos === false ? null : SPECIAL_TOKENS[0],
    chat_template:
      "{% for m in messages %}{{ '<|' + m['role'] + '|>' + m['content'] + '<|end|>\\n' }}{% endfor %}" +
      "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}",
  };
  await writeFile(join(folder, 'tokenizer.json'), JSON.stringify(tokenizer));
  await writeFile(join(folder, 'tokenizer_config.json'), JSON.stringify(config, null, 2));
}

/**
 * A complete tiny model folder: random weights (models' writer) and a byte-level tokenizer with a chat template.
 * `eos: false` leaves EOS out, so generation runs until --max-tokens (or Ctrl-C).
 */
export async function writeTinyModel(options: { seed?: number; eos?: boolean } = {}): Promise<string> {
  const folder = await randomCheckpoint(TINY_CONFIG, options.seed ?? 7);
  await writeByteTokenizer(folder, options);
  return folder;
}

/**
 * Random drafter assets in the layout `densessm` looks for: a smaller draft model in `draft/`, Medusa heads in
 * `medusa_heads.safetensors` (`medusa_heads.{i}.weight [d, d]`, `medusa_heads.{i}.bias [d]`) and PaSS embeddings in
 * `lookahead.safetensors` (`lookahead.embeddings [k, d]`): the layout of models/README.md.
 */
export async function writeDrafterAssets(folder: string, seed = 11): Promise<void> {
  const d = TINY_CONFIG.hidden_size;
  const rng = createRng(seed);
  const small = (n: number) => normals(n, rng).map((x) => 0.1 * x);
  const draft = await randomCheckpoint({ ...TINY_CONFIG, num_hidden_layers: 1, dense_block_layers: 0 }, seed);
  await mkdir(join(folder, 'draft'));
  for (const f of ['config.json', 'model.safetensors'])
    await copyFile(join(draft, f), join(folder, 'draft', f));
  const heads = new Map<string, ReturnType<typeof float32>>();
  for (let k = 0; k < 2; k++) {
    heads.set(`medusa_heads.${k}.weight`, float32([d, d], small(d * d)));
    heads.set(`medusa_heads.${k}.bias`, float32([d], small(d)));
  }
  await writeSafetensorsFile(join(folder, 'medusa_heads.safetensors'), heads);
  await writeSafetensorsFile(join(folder, 'lookahead.safetensors'), {
    'lookahead.embeddings': float32([3, d], small(3 * d)),
  });
}
