// Runs inside a scratch project outside the workspace, with only the packed tarballs installed:
// every package is imported by its public name and used the way a user who depends on it alone would.
import { createNodeBackend } from '@densessm/backend-node';
import { createWebBackend } from '@densessm/backend-web';
import { generateGreedy, loadModel } from '@densessm/models';
import { randomCheckpoint } from '@densessm/models/testing';
import { generate, PromptLookupDrafter } from '@densessm/speculative';
import { decodeSafetensors, encodeSafetensors, float32, GraphBuilder } from '@densessm/tensor';
import { ByteLevelTokenizer } from '@densessm/tokenizers';

const report = {};

// tensor: build a graph and round-trip a safetensors file.
const g = new GraphBuilder('add');
const a = g.input('a', 'float32', ['n']);
const b = g.input('b', 'float32', ['n']);
g.output(g.op('Add', [a, b]), 'sum', 'float32', ['n']);
const bytes = g.toBytes();
const st = decodeSafetensors(encodeSafetensors(new Map([['w', float32([2], [1.5, -2])]])));
report.safetensors = Array.from(st.get('w').data);

// backend-node and backend-web (wasm) run the same graph.
const feeds = { a: float32([3], [1, 2, 3]), b: float32([3], [10, 20, 30]) };
for (const [name, backend] of [
  ['node', createNodeBackend({ threads: 1 })],
  ['web', createWebBackend({ threads: 1, executionProviders: ['wasm'] })],
]) {
  const session = await backend.createSession(bytes);
  report[`${name}Sum`] = Array.from((await session.run(feeds)).sum.data);
  await session.release();
}

// models: a tiny random dense_retnet folder, loaded through the real loader, greedy generation.
const dir = await randomCheckpoint(
  {
    model_type: 'dense_retnet',
    hidden_size: 64,
    query_key_dim: 32,
    num_attention_heads: 2,
    v_factor: 2,
    num_hidden_layers: 2,
    vocab_size: 97,
    rms_norm_eps: 1e-6,
    dense_block_layers: 1,
  },
  7,
);
const model = await loadModel(dir, { backend: createNodeBackend({ threads: 1 }) });
const prompt = Int32Array.from([5, 6, 7, 5, 6, 7, 5, 6]);
const greedy = Array.from(await generateGreedy(model, prompt, 12));
report.greedy = greedy;

// speculative: prompt-lookup speculation gives the same tokens as plain greedy.
const run = generate(model, [prompt], { maxTokens: 12, drafter: new PromptLookupDrafter() });
await run.done;
report.speculative = Array.from((await run.sequences[0].result).tokens);
await model.dispose();

// tokenizers: byte-level round trip.
const tok = new ByteLevelTokenizer();
report.tokenizerRoundTrip =
  tok.decode(tok.encode('héllo, 世界'), { skipSpecialTokens: true }) === 'héllo, 世界';

console.log(JSON.stringify(report));
