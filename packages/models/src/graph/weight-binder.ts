import type { GraphBuilder, Tensor, Value } from '@densessm/tensor';

/** How a graph receives the weights: baked in as initializers, or fed as inputs on every run. */
export type WeightPlacement = 'initializers' | 'inputs';

/**
 * Puts weights into a graph per the placement and remembers the feeds that `inputs` placement needs
 * (the same tensors are fed to every run, so sessions of several modes share one copy of the weights).
 */
export class WeightBinder {
  private readonly fed: Record<string, Tensor> = {};
  private readonly bound = new Map<string, Value>();

  constructor(
    private readonly g: GraphBuilder,
    readonly placement: WeightPlacement,
  ) {}

  use(name: string, tensor: Tensor): Value {
    const hit = this.bound.get(name);
    if (hit) return hit;
    const value =
      this.placement === 'initializers'
        ? this.g.initializer(name, tensor)
        : this.g.input(name, tensor.dtype, tensor.dims);
    if (this.placement === 'inputs') this.fed[name] = tensor;
    this.bound.set(name, value);
    return value;
  }

  /** Feeds to add to every run of the graph. */
  get feeds(): Readonly<Record<string, Tensor>> {
    return this.fed;
  }
}
