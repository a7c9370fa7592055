import type { Tensor } from '@densessm/tensor';
import type { RuntimeOptions } from './architecture.js';
import { ModelError } from './errors.js';
import type { WeightPlacement } from './graph/weight-binder.js';
import type {
  ForwardOutput,
  LanguageModel,
  OutputOptions,
  SequenceState,
  TokenTree,
  VerifyOutput,
} from './language-model.js';
import { SessionCache } from './session-cache.js';
import { ownState, type PackedState } from './state.js';
import { checkPath, checkTokens, treeDepths } from './tree.js';

/** An ONNX graph as built for a session. */
export interface BuiltGraph {
  readonly bytes: Uint8Array;
  /** Op types used (tests hold them to PORTABLE_OPS). */
  readonly ops: ReadonlySet<string>;
  /** Weight feeds to pass on every run (empty when weights are initializers). */
  readonly weightFeeds: Readonly<Record<string, Tensor>>;
}

/** What every verify output's deltas carry so `commit` can tell it belongs to the state as it is now. */
export interface DeltaStamp {
  readonly model: object;
  readonly state: PackedState;
  /**
   * The state's tensors object and position at verify time: any step, commit or prefill moves the position on
   * (dense_retnet's pending rows included) and a fold swaps in new tensors, so either differs once it changed.
   */
  readonly tensors: Readonly<Record<string, Float32Array>>;
  readonly position: number;
  readonly parents: Int32Array;
}

const DEFAULT_PREFILL_CHUNK = 64;

/**
 * The runtime shared by graph-backed architectures: sessions cached per key (mode + shape bucket) with their
 * weight feeds, runtime options, and the input checks of every LanguageModel call (ownership of states, token
 * ranges, tree shapes, accepted paths, stale verify outputs). Subclasses build graphs and feeds.
 */
export abstract class GraphModel implements LanguageModel {
  abstract readonly modelType: string;
  abstract readonly vocabSize: number;
  abstract readonly hiddenSize: number;
  protected readonly sessions: SessionCache;
  protected readonly placement: WeightPlacement;
  /** Tokens per sequence per prefill pass. */
  protected readonly prefillChunk: number;
  private readonly weightFeeds = new Map<string, Readonly<Record<string, Tensor>>>();

  constructor(options: RuntimeOptions) {
    this.placement = options.weights ?? 'initializers';
    this.prefillChunk = options.prefillChunk ?? DEFAULT_PREFILL_CHUNK;
    if (!Number.isInteger(this.prefillChunk) || this.prefillChunk < 1) {
      throw new ModelError(
        'INVALID_INPUT',
        `prefillChunk must be a positive integer, got ${this.prefillChunk}`,
      );
    }
    this.sessions = new SessionCache(
      options.backend,
      options.threads === undefined ? {} : { threads: options.threads },
    );
  }

  abstract newState(): PackedState;
  abstract prefill(
    items: readonly { state: SequenceState; tokens: Int32Array }[],
    options?: OutputOptions,
  ): Promise<ForwardOutput[]>;
  abstract step(
    items: readonly { state: SequenceState; token: number }[],
    options?: OutputOptions,
  ): Promise<ForwardOutput[]>;
  abstract verify(
    items: readonly { state: SequenceState; tree: TokenTree }[],
    options?: OutputOptions,
  ): Promise<VerifyOutput[]>;
  abstract commit(
    items: readonly { state: SequenceState; verified: VerifyOutput; path: readonly number[] }[],
  ): Promise<void>;

  /**
   * Runs the graph under `key`, building its session on first use; weight feeds are added. `into` receives
   * outputs in caller-owned tensors (see `Session.run`), e.g. a state's recycled arrays.
   */
  protected async run(
    key: string,
    build: () => BuiltGraph,
    feeds: Record<string, Tensor>,
    outputs?: readonly string[],
    into?: Readonly<Record<string, Tensor>>,
  ): Promise<Record<string, Tensor>> {
    const session = await this.sessions.get(key, () => {
      const built = build();
      this.weightFeeds.set(key, built.weightFeeds);
      return built.bytes;
    });
    return session.run({ ...this.weightFeeds.get(key), ...feeds }, outputs, into ? { into } : undefined);
  }

  protected prefillItems(items: readonly { state: SequenceState; tokens: Int32Array }[]) {
    return items.map(({ state, tokens }, i) => {
      const where = `prefill (item ${i})`;
      if (tokens.length === 0)
        throw new ModelError('INVALID_INPUT', `${where}: no tokens; give at least one`);
      checkTokens(tokens, this.vocabSize, where);
      return { state: ownState(state, this, where), tokens };
    });
  }

  protected stepItems(items: readonly { state: SequenceState; token: number }[]) {
    return items.map(({ state, token }, i) => {
      const where = `step (item ${i})`;
      checkTokens([token], this.vocabSize, where);
      return { state: ownState(state, this, where), tokens: Int32Array.of(token) };
    });
  }

  protected verifyItems(items: readonly { state: SequenceState; tree: TokenTree }[]) {
    return items.map(({ state, tree }, i) => {
      const where = `verify (item ${i})`;
      const depths = treeDepths(tree, this.vocabSize, this.hiddenSize, where);
      return { state: ownState(state, this, where), tree, depths };
    });
  }

  /** Stamps a verify output's deltas with the state as it is now (see `commitItems`). */
  protected stamp(state: PackedState, parents: Int32Array): DeltaStamp {
    return { model: this, state, tensors: state.tensors, position: state.position, parents };
  }

  /** Validates every commit item (all before any state changes) and returns the deltas typed as stamped. */
  protected commitItems<D extends DeltaStamp>(
    items: readonly { state: SequenceState; verified: VerifyOutput; path: readonly number[] }[],
  ) {
    return items.map(({ state, verified, path }, i) => {
      const where = `commit (item ${i})`;
      const own = ownState(state, this, where);
      const deltas = verified.deltas as D | undefined;
      if (
        deltas?.model !== this ||
        deltas.state !== own ||
        deltas.tensors !== own.tensors ||
        deltas.position !== own.position
      ) {
        throw new ModelError(
          'INVALID_INPUT',
          `${where}: the verify output does not belong to this state as it is now (verified at position ` +
            `${deltas?.position}, state at ${own.position}); commit each verify output once, to the state it verified`,
        );
      }
      checkPath(path, deltas.parents, where);
      return { state: own, deltas, path };
    });
  }

  async dispose(): Promise<void> {
    await this.sessions.dispose();
  }
}
