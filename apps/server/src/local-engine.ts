import type { BatchCore } from './core.js';
import type { Engine, EngineInfo, EngineLoad, EngineRequest, RequestHandle } from './engine.js';
import { EventRouter } from './event-router.js';
import { BatchScheduler } from './scheduler.js';

/**
 * The scheduler and a core on the calling thread. For tests and embedding with a core that does not block;
 * a server over a real model uses `WorkerEngine`, because onnxruntime-node's `run` blocks the event loop.
 */
export class LocalEngine implements Engine {
  private readonly router = new EventRouter();
  private scheduler: BatchScheduler | null = null;
  info: EngineInfo | null = null;

  constructor(
    private readonly makeCore: () => Promise<BatchCore>,
    private readonly options: { maxBatch: number },
  ) {}

  private core: BatchCore | null = null;

  async load(): Promise<EngineInfo> {
    this.core = await this.makeCore();
    this.scheduler = new BatchScheduler(this.core, this.options, (id, event) =>
      this.router.deliver(id, event),
    );
    this.info = this.core.info;
    return this.info;
  }

  submit(request: EngineRequest): RequestHandle {
    const scheduler = this.scheduler;
    const handle = this.router.open(request.id, () => scheduler?.cancel(request.id));
    if (!scheduler) {
      this.router.deliver(request.id, {
        type: 'error',
        code: 'model_loading',
        message: 'The model is still loading.',
        badRequest: false,
      });
    } else {
      scheduler.submit(request);
    }
    return handle;
  }

  occupancy(): EngineLoad {
    return this.router.occupancy();
  }

  async close(): Promise<void> {
    await this.scheduler?.close();
    await this.core?.dispose();
    this.scheduler = null;
  }
}
