import { ModelError } from './errors.js';
import type { TokenTree } from './language-model.js';

/** Fails with a message naming the call and position when a token id is outside [0, vocabSize). */
export function checkTokens(tokens: ArrayLike<number>, vocabSize: number, where: string): void {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (!Number.isInteger(t) || t < 0 || t >= vocabSize) {
      throw new ModelError(
        'TOKEN_OUT_OF_RANGE',
        `${where}: token id ${t} at index ${i} is outside the vocabulary [0, ${vocabSize}); ` +
          'check the tokenizer matches the model',
      );
    }
  }
}

/**
 * Validates a tree (topological order, parents[i] < i, -1 for roots; token ids in range; overrides in range)
 * and returns each node's depth below the committed context (roots have depth 0).
 */
export function treeDepths(
  tree: TokenTree,
  vocabSize: number,
  hiddenSize: number,
  where: string,
): Int32Array {
  const n = tree.tokens.length;
  if (n === 0) throw new ModelError('INVALID_TREE', `${where}: the tree has no nodes`);
  if (tree.parents.length !== n) {
    throw new ModelError(
      'INVALID_TREE',
      `${where}: tree has ${n} tokens but ${tree.parents.length} parents; give one parent per node`,
    );
  }
  const overridden = new Set<number>();
  if (tree.embeddingOverrides) {
    const { nodes, vectors } = tree.embeddingOverrides;
    if (vectors.length !== nodes.length * hiddenSize) {
      throw new ModelError(
        'INVALID_TREE',
        `${where}: embeddingOverrides has ${nodes.length} nodes but ${vectors.length} floats; expected nodes * ${hiddenSize}`,
      );
    }
    for (const node of nodes) {
      if (!Number.isInteger(node) || node < 0 || node >= n) {
        throw new ModelError(
          'INVALID_TREE',
          `${where}: embeddingOverrides names node ${node}, outside [0, ${n})`,
        );
      }
      overridden.add(node);
    }
  }
  const depths = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const p = tree.parents[i];
    if (!Number.isInteger(p) || p < -1 || p >= i) {
      throw new ModelError(
        'INVALID_TREE',
        `${where}: node ${i} has parent ${p}; parents must be -1 (root) or an earlier node index`,
      );
    }
    depths[i] = p < 0 ? 0 : depths[p] + 1;
    if (!overridden.has(i)) checkTokens([tree.tokens[i]], vocabSize, `${where} (tree node ${i})`);
  }
  return depths;
}

/** Checks that `path` is a root-to-node chain of the tree (root first, each node the parent of the next). */
export function checkPath(path: readonly number[], parents: Int32Array, where: string): void {
  for (let i = 0; i < path.length; i++) {
    const node = path[i];
    const expectedParent = i === 0 ? -1 : path[i - 1];
    if (!Number.isInteger(node) || node < 0 || node >= parents.length || parents[node] !== expectedParent) {
      throw new ModelError(
        'INVALID_PATH',
        `${where}: path [${path.join(', ')}] is not a root-to-node chain of the verified tree at index ${i}; ` +
          'each node must be the child of the previous one and the first a root',
      );
    }
  }
}
