import { DraftTree } from './draft-tree.js';
import type { Drafter, DraftRequest } from './drafter.js';
import { SpeculativeError } from './errors.js';

export interface PromptLookupOptions {
  /** Shortest suffix that must recur in the context to propose its continuation (default 2). */
  minMatch?: number;
  /** Longest suffix compared when ranking matches (default 16). */
  maxMatch?: number;
  /** Distinct continuations drafted as sibling branches (default 3). */
  maxBranches?: number;
}

/** Per-sequence index from each `minMatch`-gram to the positions right after its occurrences. */
interface ContextIndex {
  readonly positions: Map<string, number[]>;
  indexed: number;
}

/**
 * Prompt lookup decoding (Saxena 2023) with CopySpec-style long copies (Dumitru et al. 2025): find where the
 * context's last tokens occurred before, longest match first, and draft what followed, as long as the budget
 * allows. The context is the whole sequence, so edits of an earlier answer in a multi-turn prompt copy from
 * that earlier turn. Several matches with different continuations become sibling branches. Drafts are
 * deterministic: the sampling verifier checks them by sample-and-compare.
 */
export class PromptLookupDrafter implements Drafter {
  readonly name = 'prompt-lookup';
  private readonly minMatch: number;
  private readonly maxMatch: number;
  private readonly maxBranches: number;
  private readonly indexes = new Map<number, ContextIndex>();

  constructor(options: PromptLookupOptions = {}) {
    this.minMatch = options.minMatch ?? 2;
    this.maxMatch = options.maxMatch ?? 16;
    this.maxBranches = options.maxBranches ?? 3;
    if (!(this.minMatch >= 1 && this.maxMatch >= this.minMatch && this.maxBranches >= 1)) {
      throw new SpeculativeError(
        'INVALID_OPTION',
        'PromptLookupDrafter needs 1 <= minMatch <= maxMatch and maxBranches >= 1.',
      );
    }
  }

  propose(requests: readonly DraftRequest[]): DraftTree[] {
    return requests.map((request) => this.proposeOne(request));
  }

  removeSequence(sequenceId: number): void {
    this.indexes.delete(sequenceId);
  }

  private proposeOne({ sequenceId, tokens, budget }: DraftRequest): DraftTree {
    const tree = new DraftTree(tokens[tokens.length - 1]);
    const n = tokens.length;
    if (n <= this.minMatch || budget === 0) return tree;
    const index = this.updateIndex(sequenceId, tokens);
    const matches = (index.positions.get(this.key(tokens, n)) ?? [])
      .filter((p) => p < n)
      .map((p) => ({ start: p, length: this.matchLength(tokens, p, n) }))
      .sort((a, b) => b.length - a.length || b.start - a.start);
    let remaining = budget;
    const branches = new Set<number>();
    for (const match of matches) {
      if (remaining === 0 || branches.size === this.maxBranches) break;
      if (branches.has(tokens[match.start])) continue;
      branches.add(tokens[match.start]);
      // The best match may take the whole budget but leave two nodes per further branch.
      const reserve = Math.min(2 * (this.maxBranches - branches.size), Math.floor(remaining / 2));
      let take = branches.size === 1 ? remaining - reserve : remaining;
      // Confidence per copied token grows with the match length (a 1-token match is a weak signal).
      const confidence = match.length / (match.length + 1);
      let node = 0;
      for (let p = match.start; p < n && take > 0; p++) {
        const existing = tree.findChild(node, tokens[p]);
        if (existing >= 0) {
          node = existing;
          continue;
        }
        node = tree.addChild(node, tokens[p], { score: tree.scores[node] * confidence });
        take--;
        remaining--;
      }
    }
    return tree;
  }

  private key(tokens: readonly number[], end: number): string {
    return tokens.slice(end - this.minMatch, end).join(',');
  }

  /** How many tokens before `start` agree with the tokens before `end` (capped at maxMatch). */
  private matchLength(tokens: readonly number[], start: number, end: number): number {
    let length = 0;
    while (
      length < this.maxMatch &&
      start - 1 - length >= 0 &&
      tokens[start - 1 - length] === tokens[end - 1 - length]
    )
      length++;
    return length;
  }

  /** Indexes the n-grams ending before each position seen since the last call (excluding the live suffix). */
  private updateIndex(sequenceId: number, tokens: readonly number[]): ContextIndex {
    let index = this.indexes.get(sequenceId);
    if (!index) {
      index = { positions: new Map(), indexed: this.minMatch };
      this.indexes.set(sequenceId, index);
    }
    for (; index.indexed < tokens.length; index.indexed++) {
      const key = this.key(tokens, index.indexed);
      const list = index.positions.get(key);
      if (list) list.push(index.indexed);
      else index.positions.set(key, [index.indexed]);
    }
    return index;
  }
}
