import type {
  ForwardOutput,
  LanguageModel,
  OutputOptions,
  SequenceState,
  TokenTree,
  VerifyOutput,
} from '@densessm/models';
import { SpeculativeError } from '../errors.js';
import { counterUniform } from '../random.js';

export interface ToyModelOptions {
  vocabSize: number;
  hiddenSize: number;
  seed: number;
  /** Added to the LM head: a `ToyLanguageModel` with the same seed and small noise is a plausible draft model. */
  headNoise?: number;
  /** Logit scale: larger means peakier distributions (more repetitive greedy text). */
  sharpness?: number;
}

class ToyState implements SequenceState {
  constructor(
    public vector: Float32Array,
    public position: number,
  ) {}

  clone(): ToyState {
    return new ToyState(Float32Array.from(this.vector), this.position);
  }

  get byteSize(): number {
    return this.vector.byteLength;
  }
}

/** Per-node states of a verified tree; the toy's "deltas" (a real model keeps k/v or dt/B/x instead). */
interface ToyDeltas {
  readonly tree: TokenTree;
  readonly nodeStates: Float32Array[];
}

function randomMatrix(seed: number, stream: number, rows: number, cols: number, scale: number): Float32Array {
  const m = new Float32Array(rows * cols);
  for (let i = 0; i < m.length; i++) m[i] = (counterUniform(seed, stream, i) * 2 - 1) * scale;
  return m;
}

/**
 * A deterministic in-memory recurrent language model that implements the `LanguageModel` contract exactly:
 * a fixed-size state per sequence updated token by token, `s' = a * s + (1 - a) * tanh(W s + E[token])`,
 * logits = `lmHead s'`. `verify` walks each node's ancestor chain from the committed state without touching
 * it; `commit` folds a verified path. It exists to test drafters, verifiers and the batched loop, and counts
 * its calls so tests can assert how many target passes a generation took.
 */
export class ToyLanguageModel implements LanguageModel {
  readonly modelType = 'toy_recurrent';
  readonly vocabSize: number;
  readonly hiddenSize: number;
  /** `[vocabSize, hiddenSize]`, row-major: what Medusa heads project through. */
  readonly lmHead: Float32Array;
  readonly calls = { prefill: 0, step: 0, verify: 0, commit: 0, verifiedNodes: 0 };
  private readonly embedding: Float32Array;
  private readonly recurrent: Float32Array;
  private readonly decay: Float32Array;

  constructor(options: ToyModelOptions) {
    const { vocabSize: V, hiddenSize: d, seed } = options;
    this.vocabSize = V;
    this.hiddenSize = d;
    this.embedding = randomMatrix(seed, 11, V, d, 1.5);
    this.recurrent = randomMatrix(seed, 12, d, d, 1.2 / Math.sqrt(d));
    this.decay = Float32Array.from(randomMatrix(seed, 13, 1, d, 1), (x) => 0.5 + 0.45 * x);
    const sharpness = options.sharpness ?? 4;
    this.lmHead = randomMatrix(seed, 14, V, d, sharpness / Math.sqrt(d));
    if (options.headNoise) {
      const noise = randomMatrix(seed ^ 0x5bd1e995, 15, V, d, (sharpness * options.headNoise) / Math.sqrt(d));
      for (let i = 0; i < this.lmHead.length; i++) this.lmHead[i] += noise[i];
    }
  }

  newState(): SequenceState {
    return new ToyState(new Float32Array(this.hiddenSize), 0);
  }

  async prefill(
    items: readonly { state: SequenceState; tokens: Int32Array }[],
    options?: OutputOptions,
  ): Promise<ForwardOutput[]> {
    this.calls.prefill++;
    return items.map(({ state, tokens }) => {
      const s = this.own(state);
      if (tokens.length === 0)
        throw new SpeculativeError('INVALID_OPTION', 'prefill needs at least one token.');
      for (const token of tokens) s.vector = this.advance(s.vector, this.embed(token));
      s.position += tokens.length;
      return this.output(s.vector, options);
    });
  }

  async step(
    items: readonly { state: SequenceState; token: number }[],
    options?: OutputOptions,
  ): Promise<ForwardOutput[]> {
    this.calls.step++;
    return items.map(({ state, token }) => {
      const s = this.own(state);
      s.vector = this.advance(s.vector, this.embed(token));
      s.position += 1;
      return this.output(s.vector, options);
    });
  }

  async verify(
    items: readonly { state: SequenceState; tree: TokenTree }[],
    options?: OutputOptions,
  ): Promise<VerifyOutput[]> {
    this.calls.verify++;
    return items.map(({ state, tree }) => {
      const s = this.own(state);
      const n = tree.tokens.length;
      this.calls.verifiedNodes += n;
      const overrides = new Map<number, Float32Array>();
      const o = tree.embeddingOverrides;
      o?.nodes.forEach((node: number, k: number) => {
        overrides.set(node, o.vectors.subarray(k * this.hiddenSize, (k + 1) * this.hiddenSize));
      });
      const nodeStates: Float32Array[] = [];
      const logits = new Float32Array(n * this.vocabSize);
      const hidden = options?.hidden ? new Float32Array(n * this.hiddenSize) : undefined;
      for (let i = 0; i < n; i++) {
        const parent = tree.parents[i];
        if (parent >= i)
          throw new SpeculativeError(
            'INVALID_TREE',
            `Node ${i} has parent ${parent}: nodes must be in topological order.`,
          );
        const from = parent < 0 ? s.vector : nodeStates[parent];
        const next = this.advance(from, overrides.get(i) ?? this.embed(tree.tokens[i]));
        nodeStates.push(next);
        logits.set(this.logits(next), i * this.vocabSize);
        hidden?.set(next, i * this.hiddenSize);
      }
      const deltas: ToyDeltas = { tree, nodeStates };
      return { nodeCount: n, logits, hidden, deltas };
    });
  }

  async commit(
    items: readonly { state: SequenceState; verified: VerifyOutput; path: readonly number[] }[],
  ): Promise<void> {
    this.calls.commit++;
    for (const { state, verified, path } of items) {
      const s = this.own(state);
      const { tree, nodeStates } = verified.deltas as ToyDeltas;
      path.forEach((node, k) => {
        const expectedParent = k === 0 ? -1 : path[k - 1];
        if (tree.parents[node] !== expectedParent) {
          throw new SpeculativeError(
            'INVALID_TREE',
            `commit path ${path.join(',')} is not a root-to-node chain.`,
          );
        }
        if (tree.embeddingOverrides?.nodes.includes(node)) {
          throw new SpeculativeError(
            'INVALID_TREE',
            `commit path contains lookahead node ${node}, which is never committed.`,
          );
        }
      });
      if (path.length === 0) continue;
      s.vector = Float32Array.from(nodeStates[path[path.length - 1]]);
      s.position += path.length;
    }
  }

  async dispose(): Promise<void> {}

  private own(state: SequenceState): ToyState {
    if (!(state instanceof ToyState))
      throw new SpeculativeError('MODEL_MISMATCH', 'This state was not made by a ToyLanguageModel.');
    return state;
  }

  private embed(token: number): Float32Array {
    if (!(token >= 0 && token < this.vocabSize))
      throw new SpeculativeError('INVALID_TREE', `Token ${token} is outside the vocabulary.`);
    return this.embedding.subarray(token * this.hiddenSize, (token + 1) * this.hiddenSize);
  }

  private advance(s: Float32Array, input: Float32Array): Float32Array {
    const d = this.hiddenSize;
    const next = new Float32Array(d);
    for (let i = 0; i < d; i++) {
      let acc = input[i];
      for (let j = 0; j < d; j++) acc += this.recurrent[i * d + j] * s[j];
      next[i] = this.decay[i] * s[i] + (1 - this.decay[i]) * Math.tanh(acc);
    }
    return next;
  }

  private logits(s: Float32Array): Float32Array {
    const out = new Float32Array(this.vocabSize);
    for (let v = 0; v < this.vocabSize; v++) {
      let acc = 0;
      for (let j = 0; j < this.hiddenSize; j++) acc += this.lmHead[v * this.hiddenSize + j] * s[j];
      out[v] = acc;
    }
    return out;
  }

  private output(s: Float32Array, options?: OutputOptions): ForwardOutput {
    return { logits: this.logits(s), hidden: options?.hidden ? Float32Array.from(s) : undefined };
  }
}
