import type { TokenTree } from '@densessm/models';
import { SpeculativeError } from './errors.js';

/**
 * The distribution a sampled draft token was drawn from (already shaped by the same temperature / top-k /
 * top-p as the target). Siblings sharing one `distribution` object and `withoutReplacement` form a group
 * drawn in order without replacement (Gumbel-Top-k; RSD, Jeon et al. 2024): the verifier then renormalises q
 * without the earlier siblings' tokens before testing the next one.
 */
export interface DraftProposal {
  readonly distribution: Float64Array;
  readonly withoutReplacement: boolean;
}

export interface DraftNodeOptions {
  /** The drafter's estimate that the path to this node is accepted. */
  score?: number;
  /**
   * What orders merging and budget cuts (default: `score`). For a sampled node it must not depend on the
   * node's own token: whether a draw is kept may depend on anything but that draw, or the kept draws are no
   * longer distributed as q and the verifier's min(1, p/q) test is biased.
   */
  priority?: number;
  /** Set for sampled drafts; absent for deterministic drafts (verified by sample-and-compare). */
  proposal?: DraftProposal;
  /** Bit set of the drafters that proposed the node (for the composite's bookkeeping). */
  sources?: number;
}

/**
 * A token tree under construction for one sequence and one round (DESIGN.md section 5). Node 0 is the root:
 * the pending token already chosen from the last logits and not yet fed. Nodes are appended in topological
 * order, so `toTokenTree()` is the model's `TokenTree` directly. PaSS lookahead nodes carry an input
 * embedding instead of a token; they are scored but never accepted.
 */
export class DraftTree {
  readonly tokens: number[] = [];
  readonly parents: number[] = [];
  readonly depths: number[] = [];
  readonly scores: number[] = [];
  readonly priorities: number[] = [];
  readonly sources: number[] = [];
  readonly proposals: (DraftProposal | undefined)[] = [];
  readonly lookahead: (Float32Array | undefined)[] = [];
  private readonly childLists: number[][] = [];

  constructor(root: number) {
    this.push(-1, root, { score: 1 }, undefined);
  }

  get size(): number {
    return this.tokens.length;
  }

  get root(): number {
    return this.tokens[0];
  }

  /** Nodes that are draft tokens (neither the root nor lookahead nodes). */
  get draftCount(): number {
    let count = 0;
    for (let i = 1; i < this.size; i++) if (this.lookahead[i] === undefined) count++;
    return count;
  }

  get maxDepth(): number {
    return this.depths.reduce((a, b) => Math.max(a, b), 0);
  }

  children(node: number): readonly number[] {
    return this.childLists[node];
  }

  /** The token children of a node (lookahead nodes excluded), in the order the verifier tests them. */
  tokenChildren(node: number): number[] {
    return this.childLists[node].filter((c) => this.lookahead[c] === undefined);
  }

  /** A deterministic child of `parent` with `token`, or -1. */
  findChild(parent: number, token: number): number {
    for (const c of this.childLists[parent]) {
      if (this.tokens[c] === token && this.lookahead[c] === undefined && this.proposals[c] === undefined)
        return c;
    }
    return -1;
  }

  addChild(parent: number, token: number, options: DraftNodeOptions = {}): number {
    this.checkParent(parent);
    if (this.lookahead[parent] !== undefined) {
      throw new SpeculativeError('INVALID_TREE', 'A draft token cannot hang below a PaSS lookahead node.');
    }
    return this.push(parent, token, options, undefined);
  }

  /** A PaSS lookahead node (Monea et al. 2023): fed `embedding` in place of a token, never committed. */
  addLookahead(parent: number, embedding: Float32Array, sources = 0): number {
    this.checkParent(parent);
    return this.push(parent, 0, { score: this.scores[parent] * 0.5, sources }, embedding);
  }

  /** Node indices from the root to `node`, root first. */
  path(node: number): number[] {
    const path: number[] = [];
    for (let n = node; n >= 0; n = this.parents[n]) path.push(n);
    return path.reverse();
  }

  pathTokens(node: number): number[] {
    return this.path(node).map((n) => this.tokens[n]);
  }

  /**
   * The subtree of the nodes with `keep[n]` set (the root always stays; a kept node's parent must be kept),
   * in the same order; this tree itself when nothing is cut.
   */
  prune(keep: Uint8Array): DraftTree {
    if (keep.every((k, n) => k || n === 0)) return this;
    const cut = new DraftTree(this.root);
    const index = new Int32Array(this.size).fill(-1);
    index[0] = 0;
    cut.sources[0] = this.sources[0];
    for (let n = 1; n < this.size; n++) {
      if (!keep[n]) continue;
      const parent = index[this.parents[n]];
      if (parent < 0)
        throw new SpeculativeError('INVALID_TREE', `prune: node ${n} is kept but its parent is not.`);
      index[n] = cut.push(
        parent,
        this.tokens[n],
        {
          score: this.scores[n],
          priority: this.priorities[n],
          proposal: this.proposals[n],
          sources: this.sources[n],
        },
        this.lookahead[n],
      );
    }
    return cut;
  }

  /** The model-facing tree; lookahead nodes become embedding overrides of `hiddenSize` floats each. */
  toTokenTree(hiddenSize: number): TokenTree {
    const tokens = Int32Array.from(this.tokens);
    const parents = Int32Array.from(this.parents);
    const overrideNodes: number[] = [];
    for (let i = 0; i < this.size; i++) if (this.lookahead[i] !== undefined) overrideNodes.push(i);
    if (overrideNodes.length === 0) return { tokens, parents };
    const vectors = new Float32Array(overrideNodes.length * hiddenSize);
    overrideNodes.forEach((node, k) => {
      const vector = this.lookahead[node]!;
      if (vector.length !== hiddenSize) {
        throw new SpeculativeError(
          'MODEL_MISMATCH',
          `A lookahead embedding has ${vector.length} floats but the model's hidden size is ${hiddenSize}: load lookahead vectors trained for this model.`,
        );
      }
      vectors.set(vector, k * hiddenSize);
    });
    return { tokens, parents, embeddingOverrides: { nodes: Int32Array.from(overrideNodes), vectors } };
  }

  private checkParent(parent: number): void {
    if (!(parent >= 0 && parent < this.size)) {
      throw new SpeculativeError(
        'INVALID_TREE',
        `Parent ${parent} is not a node of this ${this.size}-node tree.`,
      );
    }
  }

  private push(
    parent: number,
    token: number,
    options: DraftNodeOptions,
    embedding: Float32Array | undefined,
  ): number {
    const index = this.tokens.length;
    this.tokens.push(token);
    this.parents.push(parent);
    this.depths.push(parent < 0 ? 0 : this.depths[parent] + 1);
    this.scores.push(options.score ?? 0);
    this.priorities.push(options.priority ?? options.score ?? 0);
    this.sources.push(options.sources ?? 0);
    this.proposals.push(options.proposal);
    this.lookahead.push(embedding);
    this.childLists.push([]);
    if (parent >= 0) this.childLists[parent].push(index);
    return index;
  }
}
