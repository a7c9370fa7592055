import { ModelError } from './errors.js';
import type { SequenceState } from './language-model.js';

/**
 * A sequence's recurrent state as a few named fp32 tensors (e.g. RetNet `kv.{l}`, Mamba `conv` and `ssm`), plus
 * its position. A model advances a state by swapping in new arrays (which may be views into one batch output);
 * `tensors` stay valid until the state next advances, after which the model may reuse the previous arrays as
 * the output buffers of a later pass (see `recycled`). Clones never share arrays.
 */
export class PackedState implements SequenceState {
  /** Arrays of the previous advance, free to be overwritten by the next one. */
  private spare: Record<string, Float32Array> | undefined;

  constructor(
    /** The model that made this state; models refuse states of another model. */
    readonly owner: object,
    private tensorData: Record<string, Float32Array>,
    private pos = 0,
  ) {}

  get position(): number {
    return this.pos;
  }

  /** The state tensors, by kind, in the architecture's documented layout. Treat as read-only. */
  get tensors(): Readonly<Record<string, Float32Array>> {
    return this.tensorData;
  }

  get byteSize(): number {
    let n = 0;
    for (const t of Object.values(this.tensorData)) n += t.byteLength;
    return n;
  }

  /**
   * Replaces the tensors and position (the model's job after prefill/step/commit). With `recycle`, the replaced
   * arrays are kept for `recycled()` when each owns its whole buffer (views into a batch output are not).
   */
  advance(tensors: Record<string, Float32Array>, position: number, recycle = false): void {
    const whole = Object.values(this.tensorData).every(
      (t) => t.byteOffset === 0 && t.byteLength === t.buffer.byteLength,
    );
    this.spare = recycle && whole ? this.tensorData : undefined;
    this.tensorData = tensors;
    this.pos = position;
  }

  /** Takes the arrays the previous advance replaced (to receive the next pass's outputs), if any. */
  recycled(): Record<string, Float32Array> | undefined {
    const spare = this.spare;
    this.spare = undefined;
    return spare;
  }

  clone(): PackedState {
    const copy: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(this.tensorData)) copy[k] = v.slice();
    return new PackedState(this.owner, copy, this.pos);
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
