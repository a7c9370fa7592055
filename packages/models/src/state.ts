import { ModelError } from './errors.js';
import type { SequenceState } from './language-model.js';

/**
 * A sequence's recurrent state as a few named fp32 tensors (e.g. RetNet `kv.{l}`, Mamba `conv` and `ssm`), plus
 * its position. A model advances a state by swapping in new arrays (which may be views into one batch output);
 * `tensors` stay valid until the state next advances, after which the model may reuse the previous arrays as
 * the output buffers of a later pass (see `recycled`). Clones never share arrays.
 *
 * A model may also keep _pending rows_: per-token rows fed but not yet folded into `tensors` (dense_retnet keeps
 * the rotated keys and values of its last tokens, SPEC.md "Pending window"). Then `tensors` hold the state at
 * `basePosition`, and `position = basePosition + pendingCount`. Pending buffers are row-major by token (row r of
 * kind `name` is `pending[name].subarray(r * width, (r + 1) * width)`), allocated on first use and kept.
 */
export class PackedState implements SequenceState {
  /** Arrays of the previous advance, free to be overwritten by the next one. */
  private spare: Record<string, Float32Array> | undefined;
  private pendingData: Record<string, Float32Array> | undefined;
  private pendingRows = 0;
  /** Rows the pending buffers hold (their lengths are this times each kind's width). */
  private pendingCap = 0;

  constructor(
    /** The model that made this state; models refuse states of another model. */
    readonly owner: object,
    private tensorData: Record<string, Float32Array>,
    private basePos = 0,
  ) {}

  /** Tokens fed so far (folded or pending). */
  get position(): number {
    return this.basePos + this.pendingRows;
  }

  /** Tokens folded into `tensors`. */
  get basePosition(): number {
    return this.basePos;
  }

  /** Rows fed since `basePosition` and not folded yet. */
  get pendingCount(): number {
    return this.pendingRows;
  }

  /** The pending row buffers by kind (first `pendingCount` rows in use), if any were ever made. Read-only. */
  get pending(): Readonly<Record<string, Float32Array>> | undefined {
    return this.pendingData;
  }

  /** The state tensors at `basePosition`, by kind, in the architecture's documented layout. Treat as read-only. */
  get tensors(): Readonly<Record<string, Float32Array>> {
    return this.tensorData;
  }

  /** Bytes held: the state tensors plus the pending buffers allocated so far. */
  get byteSize(): number {
    let n = 0;
    for (const t of Object.values(this.tensorData)) n += t.byteLength;
    for (const t of Object.values(this.pendingData ?? {})) n += t.byteLength;
    return n;
  }

  /**
   * Replaces the tensors and position (the model's job after prefill/step/commit, or after folding the pending
   * rows into new tensors); pending rows are dropped. With `recycle`, the replaced arrays are kept for
   * `recycled()` when each owns its whole buffer (views into a batch output are not).
   */
  advance(tensors: Record<string, Float32Array>, position: number, recycle = false): void {
    const whole = Object.values(this.tensorData).every(
      (t) => t.byteOffset === 0 && t.byteLength === t.buffer.byteLength,
    );
    this.spare = recycle && whole ? this.tensorData : undefined;
    this.tensorData = tensors;
    this.basePos = position;
    this.pendingRows = 0;
  }

  /** Takes the arrays the previous advance replaced (to receive the next pass's outputs), if any. */
  recycled(): Record<string, Float32Array> | undefined {
    const spare = this.spare;
    this.spare = undefined;
    return spare;
  }

  /**
   * Makes room for `rows` more pending rows of the given row widths (floats per row, by kind) and returns the
   * buffers to write them into (rows `pendingCount ..`); `appendPending` then counts them. Buffers grow by
   * doubling (from 8 rows) up to `limit` rows, or to exactly what is needed beyond it.
   */
  reservePending(
    widths: Readonly<Record<string, number>>,
    rows: number,
    limit: number,
  ): Record<string, Float32Array> {
    const need = this.pendingRows + rows;
    const old = this.pendingData;
    if (!old || this.pendingCap < need) {
      const cap = Math.max(need, Math.min(limit, Math.max(8, 2 * this.pendingCap)));
      this.pendingCap = cap;
      this.pendingData = Object.fromEntries(
        Object.entries(widths).map(([name, w]) => {
          const buffer = new Float32Array(cap * w);
          if (old) buffer.set(old[name].subarray(0, this.pendingRows * w));
          return [name, buffer];
        }),
      );
    }
    return this.pendingData!;
  }

  /** Counts `rows` more pending rows (written after `reservePending`); the position moves on by `rows`. */
  appendPending(rows: number): void {
    this.pendingRows += rows;
  }

  clone(): PackedState {
    const copy: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(this.tensorData)) copy[k] = v.slice();
    const state = new PackedState(this.owner, copy, this.basePos);
    if (this.pendingData) {
      state.pendingData = Object.fromEntries(
        Object.entries(this.pendingData).map(([name, buffer]) => {
          const rows = new Float32Array(buffer.length);
          const width = buffer.length / this.pendingCap;
          rows.set(buffer.subarray(0, this.pendingRows * width));
          return [name, rows];
        }),
      );
      state.pendingRows = this.pendingRows;
      state.pendingCap = this.pendingCap;
    }
    return state;
  }
}

/** Narrows a caller's state to the model's own kind, or explains why it is not. */
export function ownState(state: unknown, owner: object, where: string): PackedState {
  if (!(state instanceof PackedState) || state.owner !== owner) {
    throw new ModelError(
      'FOREIGN_STATE',
      `${where}: the state was not made by this model; create states with this model's newState()`,
    );
  }
  return state;
}
