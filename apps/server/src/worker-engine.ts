import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CoreSpec } from './core.js';
import type { Engine, EngineInfo, EngineLoad, EngineRequest, RequestHandle } from './engine.js';
import { EngineLoadError } from './errors.js';
import { EventRouter } from './event-router.js';
import type { ToMainMessage, ToWorkerMessage } from './worker-protocol.js';

export interface WorkerEngineOptions {
  spec: CoreSpec;
  maxBatch: number;
  /** The built worker script; defaults to `inference-worker.js` beside this module (or in ../dist from src). */
  workerUrl?: URL;
  /** Called once if the inference thread dies after loading. */
  onFailure?: (message: string) => void;
}

function defaultWorkerUrl(): URL {
  const beside = new URL('./inference-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  // Running from sources (tests): the worker must be the built file, as worker_threads cannot load .ts.
  return new URL('../dist/inference-worker.js', import.meta.url);
}

/**
 * The engine on a worker thread: model loading, prefill and every round run there, so the HTTP thread only
 * parses, validates and streams. Requests and events cross as structured-clone messages (a few per round).
 */
export class WorkerEngine implements Engine {
  private readonly router = new EventRouter();
  private worker: Worker | null = null;
  private failed: string | null = null;
  private closing: Promise<void> | null = null;
  info: EngineInfo | null = null;

  constructor(private readonly options: WorkerEngineOptions) {}

  load(): Promise<EngineInfo> {
    const worker = new Worker(this.options.workerUrl ?? defaultWorkerUrl(), {
      workerData: { spec: this.options.spec, maxBatch: this.options.maxBatch },
      name: 'densessm-inference',
    });
    this.worker = worker;
    return new Promise<EngineInfo>((resolve, reject) => {
      let loaded = false;
      worker.on('message', (message: ToMainMessage) => {
        switch (message.type) {
          case 'ready':
            loaded = true;
            this.info = message.info;
            resolve(message.info);
            break;
          case 'load-failed':
            reject(new EngineLoadError(message.message));
            break;
          case 'event':
            this.router.deliver(message.id, message.event);
            break;
          case 'closed':
            break;
        }
      });
      const die = (why: string) => {
        if (!loaded) {
          reject(new EngineLoadError(why));
          return;
        }
        if (this.closing || this.failed) return;
        this.failed = why;
        this.router.failAll('engine_failed', `The inference thread stopped: ${why}`);
        this.options.onFailure?.(why);
      };
      worker.on('error', (error) => die(error.message));
      worker.on('exit', (code) => die(`exited with code ${code}`));
    });
  }

  get failure(): string | null {
    return this.failed;
  }

  submit(request: EngineRequest): RequestHandle {
    const handle = this.router.open(request.id, () => this.post({ type: 'cancel', id: request.id }));
    if (this.failed || !this.info || this.closing) {
      this.router.deliver(request.id, {
        type: 'error',
        code: 'engine_failed',
        message: this.failed ? `The inference thread stopped: ${this.failed}` : 'The engine is not running.',
        badRequest: false,
      });
    } else {
      this.post({ type: 'submit', request });
    }
    return handle;
  }

  occupancy(): EngineLoad {
    return this.router.occupancy();
  }

  close(): Promise<void> {
    this.closing ??= this.shutdownWorker();
    return this.closing;
  }

  private async shutdownWorker(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    if (this.failed) {
      await worker.terminate();
      return;
    }
    this.post({ type: 'close' });
    const timeout = setTimeout(() => void worker.terminate(), 10_000);
    await exited;
    clearTimeout(timeout);
    this.router.failAll('shutting_down', 'The engine was closed.');
  }

  private post(message: ToWorkerMessage): void {
    this.worker?.postMessage(message);
  }
}
