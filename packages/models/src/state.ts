import { ModelError } from './errors.js';
import type { SequenceState } from './language-model.js';

/**
 * A sequence's recurrent state as a few packed fp32 tensors (one per kind, all layers: e.g. RetNet `kv`,
 * Mamba `conv` and `ssm`), plus its position. States are immutable values: a model that advances a state swaps
 * in new arrays (which may be views into one batch output), it never writes into arrays it handed out.
 */
export class PackedState implements SequenceState {
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

  /** Replaces the tensors and position (the model's job after prefill/step/commit). */
  advance(tensors: Record<string, Float32Array>, position: number): void {
    this.tensorData = tensors;
    this.pos = position;
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
