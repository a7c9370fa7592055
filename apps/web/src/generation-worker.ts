/// <reference lib="webworker" />
/**
 * Everything heavy runs here, off the page's main thread: model and tokenizer loading, onnxruntime-web
 * sessions and the speculative generation loop. The page only renders what this worker posts.
 */
import { createWebBackend, isWebGpuAvailable } from '@densessm/backend-web';
import { type LanguageModel, loadModel } from '@densessm/models';
import {
  autoDrafter,
  type Drafter,
  generate,
  lookaheadFromTensors,
  meanAcceptedLength,
  medusaHeadsFromTensors,
  type NamedTensor,
  PromptLookupDrafter,
  TokenRecyclingDrafter,
} from '@densessm/speculative';
import { decodeSafetensors, tensorToFloat32 } from '@densessm/tensor';
import { type LoadedTokenizer, loadTokenizer } from '@densessm/tokenizers';
import { httpFolder } from './model-files.js';
import type { DrafterName, FromWorker, ModelIndex, ToWorker } from './protocol.js';

declare const self: DedicatedWorkerGlobalScope;

interface Loaded {
  model: LanguageModel;
  tokenizer: LoadedTokenizer;
  /** Trained drafter assets found in the folder, as fp32 tensors. */
  heads?: ReadonlyMap<string, NamedTensor>;
  lookahead?: ReadonlyMap<string, NamedTensor>;
  /** Drafters live across requests: Token Recycling keeps learning from every verify pass. */
  drafters: Map<DrafterName, Drafter | undefined>;
}

let loaded: Loaded | undefined;
let abort: AbortController | undefined;

const post = (message: FromWorker) => self.postMessage(message);

/** A URL below the site's base (where the build put models/ and ort/). */
const siteUrl = (path: string) => new URL(path, self.location.origin + import.meta.env.BASE_URL).href;

function tensorsOf(bytes: Uint8Array): Map<string, NamedTensor> {
  const tensors = new Map<string, NamedTensor>();
  for (const [name, t] of decodeSafetensors(bytes)) {
    const f32 = tensorToFloat32(t);
    tensors.set(name, { dims: f32.dims, data: f32.data });
  }
  return tensors;
}

async function load(message: Extract<ToWorker, { type: 'load' }>): Promise<void> {
  const fetchFile = httpFolder(message.modelUrl, (file, loadedBytes, totalBytes) =>
    post({ type: 'progress', file, loadedBytes, totalBytes }),
  );
  const index: ModelIndex = await fetch(siteUrl('models/index.json'))
    .then((r) => (r.ok ? r.json() : { models: {} }))
    .catch(() => ({ models: {} }));
  const folderName = message.modelUrl.replace(/\/$/, '').split('/').pop() ?? '';
  const listed = message.modelUrl.startsWith(siteUrl('models/')) ? index.models[folderName] : undefined;
  const names = listed ?? ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
  // A shipped folder's file list is known: optional files it lacks are not probed (no 404s in the console).
  const read = (name: string) =>
    listed && !listed.includes(name) ? Promise.resolve(undefined) : fetchFile(name);
  const providers =
    message.providers.includes('webgpu') && !(await isWebGpuAvailable())
      ? ['wasm' as const]
      : message.providers;
  const backend = createWebBackend({
    threads: message.threads,
    executionProviders: providers,
    wasmPaths: siteUrl('ort/'),
  });
  const model = await loadModel({ read, source: message.modelUrl }, { backend });
  const tokenizer = await loadTokenizer({
    names,
    read: async (name) => {
      const bytes = await read(name);
      if (!bytes) throw new Error(`${message.modelUrl}${name} is missing`);
      return bytes;
    },
  });
  const find = (test: (f: string) => boolean) => names.find((f) => f.endsWith('.safetensors') && test(f));
  const headsFile = find((f) => f.startsWith('heads/') || f.includes('heads'));
  const lookaheadFile = find((f) => f.startsWith('lookahead'));
  const optional = async (file: string | undefined) => {
    const bytes = file ? await read(file) : undefined;
    return bytes ? tensorsOf(bytes) : undefined;
  };
  loaded = {
    model,
    tokenizer,
    heads: await optional(headsFile),
    lookahead: await optional(lookaheadFile),
    drafters: new Map(),
  };
  const drafters: DrafterName[] = ['none', 'lookup', 'recycling', 'auto'];
  if (loaded.heads) drafters.push('heads');
  if (loaded.lookahead) drafters.push('lookahead');
  post({
    type: 'ready',
    modelType: model.modelType,
    backend: `onnxruntime-web (${providers.join(', ')}, ${message.threads} thread${message.threads === 1 ? '' : 's'})`,
    drafters,
  });
}

function drafterFor(state: Loaded, name: DrafterName): Drafter | undefined {
  if (state.drafters.has(name)) return state.drafters.get(name);
  const { model } = state;
  const made: Record<DrafterName, () => Drafter | undefined> = {
    none: () => undefined,
    lookup: () => new PromptLookupDrafter(),
    recycling: () => new TokenRecyclingDrafter({ vocabSize: model.vocabSize }),
    heads: () => (state.heads ? medusaHeadsFromTensors(model, state.heads) : undefined),
    lookahead: () => (state.lookahead ? lookaheadFromTensors(model, state.lookahead) : undefined),
    auto: () => autoDrafter({ target: model }),
  };
  const drafter = made[name]();
  state.drafters.set(name, drafter);
  return drafter;
}

async function run(message: Extract<ToWorker, { type: 'generate' }>): Promise<void> {
  if (!loaded) throw new Error('no model is loaded yet');
  const { tokenizer, model } = loaded;
  abort = new AbortController();
  const prompt = tokenizer.tokenizer.encode(message.prompt);
  const started = performance.now();
  const eos = tokenizer.tokenizer.eosTokenId;
  const generation = generate(model, [prompt], {
    maxTokens: message.maxTokens,
    temperature: message.temperature,
    seed: message.seed,
    drafter: drafterFor(loaded, message.drafter),
    decoder: { decode: (ids) => tokenizer.tokenizer.decode(ids, { skipSpecialTokens: true }) },
    eosTokenIds: eos === undefined ? [] : [eos],
    signal: abort.signal,
  });
  const [sequence] = generation.sequences;
  for await (const token of sequence) if (token.text) post({ type: 'token', text: token.text });
  const result = await sequence.result;
  const seconds = (performance.now() - started) / 1000;
  post({
    type: 'done',
    text: result.text,
    tokenIds: result.tokens,
    stats: {
      tokens: result.tokens.length,
      seconds,
      tokensPerSecond: result.tokens.length / seconds,
      meanAcceptedLength: meanAcceptedLength(result.metrics),
      drafter: message.drafter,
      finishReason: result.finishReason,
    },
  });
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === 'stop') {
    abort?.abort();
    return;
  }
  const work = message.type === 'load' ? load(message) : run(message);
  work.catch((e: unknown) => post({ type: 'error', message: e instanceof Error ? e.message : String(e) }));
};
