import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, resolve } from 'node:path';
import { serve } from '@hono/node-server';
import { type AppContext, createApp, type ServerStatus } from './app.js';
import type { ServerConfig } from './config.js';
import type { CoreSpec } from './core.js';
import type { Engine, EngineInfo } from './engine.js';
import { createLogger, type Logger } from './logger.js';
import { ServerMetrics } from './metrics.js';
import { WorkerEngine } from './worker-engine.js';

export interface StartOptions {
  /** An engine to serve instead of the worker-thread engine the config describes (tests, embedding). */
  engine?: Engine;
  logger?: Logger;
  /** Options of the fake core (with `engine: 'fake'`). */
  fakeCore?: Extract<CoreSpec, { kind: 'fake' }>['options'];
  /** The built worker script (tests running from sources). */
  workerUrl?: URL;
}

export interface RunningServer {
  /** `http://host:port` */
  readonly url: string;
  readonly port: number;
  readonly modelName: string;
  readonly engine: Engine;
  readonly metrics: ServerMetrics;
  status(): ServerStatus;
  /** Resolves when the model is loaded (rejects if loading fails; the server then answers 503). */
  readonly ready: Promise<EngineInfo>;
  /**
   * Graceful shutdown: stop accepting, answer new requests 503, let running requests finish for up to
   * `graceMs`, cancel the rest, close the engine and every connection.
   */
  close(graceMs?: number): Promise<void>;
}

export function servedModelName(config: ServerConfig): string {
  if (config.modelName) return config.modelName;
  if (config.modelPath) return basename(resolve(config.modelPath));
  return 'densessm-fake';
}

export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const modelName = servedModelName(config);
  let status: ServerStatus = 'loading';
  let createdAt = Math.floor(Date.now() / 1000);
  const spec: CoreSpec =
    config.engine === 'fake'
      ? { kind: 'fake', options: { modelId: modelName, ...options.fakeCore } }
      : {
          kind: 'model',
          folder: resolve(config.modelPath ?? '.'),
          modelId: modelName,
          threads: config.threads,
          defaultDrafter: config.drafter,
          draftFolder: config.draftModelPath === null ? null : resolve(config.draftModelPath),
        };
  const engine =
    options.engine ??
    new WorkerEngine({
      spec,
      maxBatch: config.maxBatch,
      ...(options.workerUrl ? { workerUrl: options.workerUrl } : {}),
      onFailure: (why) => {
        status = 'failed';
        logger.log('error', 'inference thread failed', { why });
      },
    });
  const metrics = new ServerMetrics(modelName, () => engine.occupancy());
  const ctx: AppContext = {
    config,
    engine,
    metrics,
    logger,
    modelName,
    status: () => status,
    createdAt: () => createdAt,
  };
  const app = createApp(ctx);
  const server = await new Promise<Server>((resolveListen, rejectListen) => {
    const s = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, () =>
      resolveListen(s as Server),
    );
    (s as Server).once('error', rejectListen);
  });
  // Bound slow or stalled clients: headers within 15 s, whole request bodies within 60 s.
  server.headersTimeout = 15_000;
  server.requestTimeout = 60_000;
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  logger.log('info', 'listening', { url: `http://${host}:${port}`, model: modelName, engine: config.engine });

  const loadStarted = performance.now();
  const ready = engine.load().then(
    (info) => {
      if (status === 'loading') status = 'ready';
      createdAt = Math.floor(Date.now() / 1000);
      logger.log('info', 'model loaded', {
        model: modelName,
        drafters: info.drafters,
        ms: Math.round(performance.now() - loadStarted),
      });
      return info;
    },
    (error: unknown) => {
      status = 'failed';
      logger.log('error', 'model failed to load', {
        error: error instanceof Error ? error.message : String(error),
      });
      throw error;
    },
  );
  ready.catch(() => {});

  let closing: Promise<void> | null = null;
  const close = (graceMs = config.shutdownGraceMs): Promise<void> => {
    closing ??= (async () => {
      status = 'draining';
      logger.log('info', 'shutting down', { grace_ms: graceMs, ...engine.occupancy() });
      const stopped = new Promise<void>((done) => server.close(() => done()));
      server.closeIdleConnections();
      const deadline = performance.now() + graceMs;
      while (performance.now() < deadline) {
        const load = engine.occupancy();
        if (load.running + load.waiting === 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await engine.close();
      // Let the cancelled streams write their last chunk, then drop whatever is still connected.
      await new Promise((r) => setTimeout(r, 50));
      server.closeAllConnections();
      await stopped;
      logger.log('info', 'stopped');
    })();
    return closing;
  };

  return {
    url: `http://${host}:${port}`,
    port,
    modelName,
    engine,
    metrics,
    status: () => status,
    ready,
    close,
  };
}
