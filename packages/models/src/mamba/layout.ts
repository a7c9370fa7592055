/**
 * Flattens a ragged batch of token forests (one per sequence; a chain is a forest with one child per node) into
 * the level-ordered rows the Mamba graphs scan: level t holds every node at depth t of every sequence, so the
 * selective scan runs one step per level for all nodes at once (h_i = exp(dt_i A) h_parent(i) + dt_i B_i xc_i,
 * SPEC.md "Tree verification"), and each node's causal-conv window is an index list into
 * [committed conv rows of every sequence, then every node's x].
 */
export interface ForestLayout {
  readonly sequenceCount: number;
  readonly nodeCount: number;
  /** Number of levels (max depth + 1). */
  readonly levels: number;
  /** Equal-length chains: level t holds node t of every sequence, in sequence order (no parent indices needed). */
  readonly uniform: boolean;
  /** Nodes per level [levels]. */
  readonly levelSizes: BigInt64Array;
  /** Per level-ordered row: its sequence for roots, else its parent's row within the previous level [T]. */
  readonly parents: BigInt64Array;
  /** Per row, the K conv taps (oldest first) as rows of the window table [T, K]. */
  readonly convIndex: BigInt64Array;
  /** Per sequence, the level-ordered row of its last node (`lastNodes`) [S]. */
  readonly lastIndex: BigInt64Array;
  /** Per sequence, the window-table rows that become its conv state after its last node [S, K-1]. */
  readonly convOutIndex: BigInt64Array;
  /** Per sequence, node -> level-ordered row. */
  readonly rowOf: readonly Int32Array[];
  /** Level-ordered row -> its sequence and node id (`rowOf` goes back). */
  readonly seqOfRow: Int32Array;
  readonly nodeOfRow: Int32Array;
}

export interface ForestItem {
  /** parents[i] < i, -1 for a root (child of the committed state). */
  readonly parents: ArrayLike<number>;
  /** The node whose state/logits the caller wants after the pass (e.g. the chain's end). */
  readonly lastNode: number;
}

function depthsOf(parents: ArrayLike<number>): Int32Array {
  const depth = new Int32Array(parents.length);
  for (let i = 0; i < parents.length; i++) depth[i] = parents[i] < 0 ? 0 : depth[parents[i]] + 1;
  return depth;
}

/** `convKernel` K; `K - 1` committed conv rows per sequence lead the window table. */
export function forestLayout(items: readonly ForestItem[], convKernel: number): ForestLayout {
  const S = items.length;
  const K = convKernel;
  const depths = items.map((it) => depthsOf(it.parents));
  let levels = 0;
  let T = 0;
  for (const d of depths) {
    T += d.length;
    for (const v of d) levels = Math.max(levels, v + 1);
  }
  const levelSizes = new BigInt64Array(levels);
  for (const d of depths) for (const v of d) levelSizes[v]++;
  // Rows: by level, then sequence, then node id (stable).
  const levelStart = new Int32Array(levels + 1);
  for (let l = 0; l < levels; l++) levelStart[l + 1] = levelStart[l] + Number(levelSizes[l]);
  const fill = levelStart.slice(0, levels);
  const rowOf = depths.map((d) => new Int32Array(d.length));
  const seqOfRow = new Int32Array(T);
  const nodeOfRow = new Int32Array(T);
  for (let l = 0; l < levels; l++) {
    for (let s = 0; s < S; s++) {
      const d = depths[s];
      for (let i = 0; i < d.length; i++) {
        if (d[i] !== l) continue;
        const row = fill[l]++;
        rowOf[s][i] = row;
        seqOfRow[row] = s;
        nodeOfRow[row] = i;
      }
    }
  }
  const tableNodes = S * (K - 1);
  // Window table row of the x at `offset` places before `node`'s own (offset 0 = node itself), falling back into the
  // committed conv state (row K-2 is the newest committed x).
  const tableRow = (s: number, node: number, offset: number): number => {
    const { parents } = items[s];
    let a = node;
    for (let j = 0; j < offset && a >= 0; j++) a = parents[a];
    if (a >= 0) return tableNodes + rowOf[s][a];
    return s * (K - 1) + (depths[s][node] + K - 1 - offset);
  };
  const parents = new BigInt64Array(T);
  const convIndex = new BigInt64Array(T * K);
  for (let row = 0; row < T; row++) {
    const s = seqOfRow[row];
    const i = nodeOfRow[row];
    const p = items[s].parents[i];
    parents[row] = BigInt(p < 0 ? s : rowOf[s][p] - levelStart[depths[s][i] - 1]);
    for (let k = 0; k < K; k++) convIndex[row * K + k] = BigInt(tableRow(s, i, K - 1 - k));
  }
  const lastIndex = new BigInt64Array(S);
  const convOutIndex = new BigInt64Array(S * (K - 1));
  for (let s = 0; s < S; s++) {
    const last = items[s].lastNode;
    lastIndex[s] = BigInt(rowOf[s][last]);
    // The new state's rows j = 0..K-2 are the window taps 1..K-1 of the last node (offsets K-2..0).
    for (let j = 0; j < K - 1; j++) convOutIndex[s * (K - 1) + j] = BigInt(tableRow(s, last, K - 2 - j));
  }
  const isChain = (p: ArrayLike<number>) =>
    Array.prototype.every.call(p, (v: number, i: number) => v === i - 1);
  const uniform = items.every((it) => it.parents.length === levels && isChain(it.parents));
  return {
    sequenceCount: S,
    nodeCount: T,
    levels,
    uniform,
    levelSizes,
    parents,
    convIndex,
    lastIndex,
    convOutIndex,
    rowOf,
    seqOfRow,
    nodeOfRow,
  };
}
