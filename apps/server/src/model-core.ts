import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createNodeBackend } from '@densessm/backend-node';
import { type LanguageModel, loadModel } from '@densessm/models';
import {
  autoDrafter,
  type Drafter,
  DraftModelDrafter,
  PromptLookupDrafter,
  type SequenceResult,
  type SpeculationMetrics,
  SpeculativeBatch,
  SpeculativeError,
  TokenRecyclingDrafter,
} from '@densessm/speculative';
import { loadTokenizerFromDirectory } from '@densessm/tokenizers/node';
import {
  type BatchCore,
  CoreRequestError,
  type CoreSequence,
  type CoreSpec,
  type RoundOutput,
} from './core.js';
import type { ChatMessage, EngineInfo, EngineRequest, SpeculationSummary } from './engine.js';
import { EngineLoadError } from './errors.js';
import { findDraftModel } from './model-location.js';

/** What the core needs from the model's tokenizer (`@densessm/tokenizers` provides it). */
export interface TextCodec {
  encode(text: string): number[];
  /** Encodes a rendered chat prompt (the template already wrote any BOS). Defaults to `encode`. */
  encodeChat?(text: string): number[];
  decode(ids: readonly number[]): string;
  /** Token ids that end generation. */
  readonly eosTokenIds: readonly number[];
  /** The model's chat template applied to `messages`, ending with the assistant's turn opened; null if none. */
  renderChat(messages: readonly ChatMessage[]): string | null;
}

/**
 * Drafters a request may name; the names match the CLI's `--draft`. `auto` is speculative's `autoDrafter`
 * (prompt lookup + Token Recycling); `draft-model` uses the draft model found beside the target.
 */
const BASE_DRAFTERS = ['auto', 'none', 'lookup', 'recycling'] as const;
type DrafterName = (typeof BASE_DRAFTERS)[number] | 'draft-model';

function makeDrafter(
  name: DrafterName,
  target: LanguageModel,
  draftModel: LanguageModel | null,
): Drafter | undefined {
  switch (name) {
    case 'none':
      return undefined;
    case 'lookup':
      return new PromptLookupDrafter();
    case 'recycling':
      return new TokenRecyclingDrafter({ vocabSize: target.vocabSize });
    case 'draft-model':
      return draftModel ? new DraftModelDrafter({ model: draftModel }) : undefined;
    case 'auto':
      return autoDrafter({ target });
  }
}

interface ModelSequence extends CoreSequence {
  readonly batch: SpeculativeBatch;
  readonly sequenceId: number;
  /** Set when the sequence left its batch (finished); its counters. */
  result: SequenceResult | null;
}

function summarize(metrics: SpeculationMetrics): SpeculationSummary {
  return {
    targetPasses: metrics.targetPasses,
    draftedPasses: metrics.draftedPasses,
    draftTokens: metrics.draftedTokens,
    acceptedTokens: metrics.acceptedTokens,
    acceptedPerPosition: [...metrics.acceptedAtDepth],
    prefillMs: metrics.prefillMs,
  };
}

/**
 * The core over the real packages: a `LanguageModel` from `@densessm/models` on onnxruntime-node, one
 * `SpeculativeBatch` per drafter in use (a batch has one drafter; requests naming the same drafter share a
 * batch and its ragged verify), and the tokenizer's chat template, detokenizer and stop strings.
 */
export class ModelCore implements BatchCore {
  readonly info: EngineInfo;
  private readonly batches = new Map<DrafterName, SpeculativeBatch>();
  private readonly drafters: readonly DrafterName[];

  constructor(
    private readonly model: LanguageModel,
    private readonly codec: TextCodec,
    modelId: string,
    private readonly defaultDrafter: string,
    private readonly draftModel: LanguageModel | null = null,
  ) {
    this.drafters = draftModel ? [...BASE_DRAFTERS, 'draft-model'] : [...BASE_DRAFTERS];
    if (!this.drafters.includes(defaultDrafter as DrafterName)) {
      throw new EngineLoadError(
        `Unknown default drafter '${defaultDrafter}' for this model; use one of ${this.drafters.join(', ')}.`,
      );
    }
    this.info = { modelId, drafters: [...this.drafters], defaultDrafter, contextLength: null };
  }

  private batchFor(name: DrafterName): SpeculativeBatch {
    let batch = this.batches.get(name);
    if (!batch) {
      const drafter = makeDrafter(name, this.model, this.draftModel);
      batch = new SpeculativeBatch(this.model, drafter ? { drafter } : {});
      this.batches.set(name, batch);
    }
    return batch;
  }

  async admit(requests: readonly EngineRequest[]): Promise<(CoreSequence | CoreRequestError)[]> {
    return requests.map((request) => {
      const drafter = (request.drafter ?? this.defaultDrafter) as DrafterName;
      if (!this.drafters.includes(drafter)) {
        return new CoreRequestError(
          'unknown_drafter',
          `Unknown drafter '${drafter}'; this model offers ${this.drafters.join(', ')}.`,
        );
      }
      let prompt: number[];
      if (request.input.kind === 'chat') {
        let rendered: string | null;
        try {
          rendered = this.codec.renderChat(request.input.messages);
        } catch (error) {
          // Templates reject what they cannot render (e.g. roles that do not alternate): the request's fault.
          return new CoreRequestError('invalid_messages', (error as Error).message);
        }
        if (rendered === null) {
          return new CoreRequestError(
            'no_chat_template',
            'This model has no chat template (tokenizer_config.json chat_template); use /v1/completions with a prompt.',
          );
        }
        prompt = this.codec.encodeChat ? this.codec.encodeChat(rendered) : this.codec.encode(rendered);
      } else {
        prompt = this.codec.encode(request.input.prompt);
      }
      const { temperature, topP, seed, maxTokens, stop } = request.sampling;
      const batch = this.batchFor(drafter);
      try {
        const sequenceId = batch.add({
          prompt,
          maxTokens,
          temperature,
          topP,
          ...(seed === null ? {} : { seed: ((seed % 2 ** 32) + 2 ** 32) % 2 ** 32 }),
          stop,
          decoder: this.codec,
          eosTokenIds: this.codec.eosTokenIds,
        });
        const sequence: ModelSequence = {
          requestId: request.id,
          promptTokens: prompt.length,
          drafter,
          batch,
          sequenceId,
          result: null,
        };
        return sequence;
      } catch (error) {
        if (error instanceof SpeculativeError) return new CoreRequestError('invalid_prompt', error.message);
        throw error;
      }
    });
  }

  async round(sequences: readonly CoreSequence[]): Promise<RoundOutput[]> {
    const outputs = new Map<ModelSequence, RoundOutput>();
    const byBatch = new Map<SpeculativeBatch, Map<number, ModelSequence>>();
    for (const s of sequences as readonly ModelSequence[]) {
      outputs.set(s, { text: '', tokens: 0, finished: null });
      let members = byBatch.get(s.batch);
      if (!members) {
        members = new Map();
        byBatch.set(s.batch, members);
      }
      members.set(s.sequenceId, s);
    }
    for (const [batch, members] of byBatch) {
      for (const event of await batch.runRound()) {
        const s = members.get(event.sequenceId);
        if (!s) continue;
        const output = outputs.get(s)!;
        output.text += event.tokens.map((t) => t.text).join('');
        output.tokens += event.tokens.length;
        if (event.result) {
          s.result = event.result;
          const reason = event.result.finishReason;
          output.finished = reason === 'length' ? 'length' : 'stop';
        }
      }
    }
    return (sequences as readonly ModelSequence[]).map((s) => outputs.get(s)!);
  }

  release(sequence: CoreSequence): SpeculationSummary | null {
    const s = sequence as ModelSequence;
    s.result ??= s.batch.remove(s.sequenceId) ?? null;
    return s.result ? summarize(s.result.metrics) : null;
  }

  /**
   * Runs one short request through the default drafter's batch, so onnxruntime builds its sessions (seconds on
   * first use) before the server reports ready rather than inside the first client's time to first token.
   */
  async warmUp(): Promise<void> {
    const [sequence] = await this.admit([
      {
        id: 'warm-up',
        input: { kind: 'text', prompt: 'Hello, world. Hello, world.' },
        sampling: { temperature: 0, topP: 1, seed: 0, maxTokens: 4, stop: [] },
        drafter: null,
      },
    ]);
    if (!sequence || sequence instanceof CoreRequestError) return;
    for (let round = 0; round < 8; round++) {
      const [output] = await this.round([sequence]);
      if (output?.finished) break;
    }
    this.release(sequence);
  }

  async dispose(): Promise<void> {
    await this.draftModel?.dispose();
    await this.model.dispose();
  }
}

/**
 * Adapts the folder's tokenizer (`@densessm/tokenizers`) to `TextCodec`. Chat prompts are rendered by the
 * model's chat template (or the package's plain one) and encoded without adding special tokens, since templates
 * write BOS themselves; raw completion prompts get the tokenizer's usual special tokens.
 */
async function generationEosIds(folder: string): Promise<number[]> {
  let raw: string;
  try {
    raw = await readFile(join(folder, 'generation_config.json'), 'utf8');
  } catch {
    return [];
  }
  try {
    const eos = (JSON.parse(raw) as { eos_token_id?: unknown }).eos_token_id;
    const ids = Array.isArray(eos) ? eos : [eos];
    return ids.filter((id): id is number => Number.isInteger(id) && (id as number) >= 0);
  } catch (error) {
    throw new EngineLoadError(
      `${join(folder, 'generation_config.json')} is not valid JSON: ${(error as Error).message}`,
    );
  }
}

export async function loadTextCodec(folder: string): Promise<TextCodec> {
  let loaded: Awaited<ReturnType<typeof loadTokenizerFromDirectory>>;
  try {
    loaded = await loadTokenizerFromDirectory(folder);
  } catch (error) {
    throw new EngineLoadError(`Cannot load the tokenizer in ${folder}: ${(error as Error).message}`);
  }
  const { tokenizer, chatTemplate } = loaded;
  const eosTokenIds = new Set<number>(tokenizer.eosTokenId === undefined ? [] : [tokenizer.eosTokenId]);
  // generation_config.json may list several ids that end a turn (e.g. end-of-text and a chat end-of-turn
  // marker), as Hugging Face `generate` honours; the tokenizer keeps only the first.
  for (const id of await generationEosIds(folder)) eosTokenIds.add(id);
  return {
    encode: (text) => tokenizer.encode(text),
    encodeChat: (text) => tokenizer.encode(text, { addSpecialTokens: false }),
    decode: (ids) => {
      // Special tokens (chat markers) are control, not text, as in OpenAI's and vLLM's output.
      const text = tokenizer.decode(ids, { skipSpecialTokens: true });
      // A token that ends inside a multi-byte character decodes to U+FFFD until the next token completes it.
      // Streamed text must only ever grow, so an unfinished character at the end is held back until then.
      return text.endsWith('\uFFFD') ? text.slice(0, -1) : text;
    },
    eosTokenIds: [...eosTokenIds],
    renderChat: (messages) => {
      return chatTemplate.render(
        messages.map((m) => ({ role: m.role, content: m.content })),
        { addGenerationPrompt: true },
      );
    },
  };
}

export async function createModelCore(
  spec: Extract<CoreSpec, { kind: 'model' }>,
  codec?: TextCodec,
): Promise<BatchCore> {
  const backend = createNodeBackend(spec.threads === null ? {} : { threads: spec.threads });
  const load = async (folder: string) => {
    try {
      return await loadModel(folder, {
        backend,
        ...(spec.threads === null ? {} : { threads: spec.threads }),
      });
    } catch (error) {
      throw new EngineLoadError(`Cannot load the model in ${folder}: ${(error as Error).message}`);
    }
  };
  const model = await load(spec.folder);
  if (spec.draftFolder && !existsSync(join(spec.draftFolder, 'config.json'))) {
    throw new EngineLoadError(
      `--draft-model ${spec.draftFolder} has no config.json; point it at a model folder.`,
    );
  }
  // The draft model: --draft-model, else the one shipped with the target (<model>/draft or a sibling *-draft).
  const draftFolder = spec.draftFolder ?? findDraftModel(spec.folder);
  const draftModel = draftFolder === null ? null : await load(draftFolder);
  const core = new ModelCore(
    model,
    codec ?? (await loadTextCodec(spec.folder)),
    spec.modelId,
    spec.defaultDrafter,
    draftModel,
  );
  await core.warmUp();
  return core;
}
