export { type AppContext, createApp, type ServerStatus } from './app.js';
export { DEFAULT_CONFIG, type ParsedCli, parseConfig, type ServerConfig, usage } from './config.js';
export type { BatchCore, CoreSequence, CoreSpec, FakeCoreOptions, RoundOutput } from './core.js';
export { CoreRequestError } from './core.js';
export { createCore } from './core-factory.js';
export type * from './engine.js';
export * from './errors.js';
export { FakeCore } from './fake-core.js';
export { LocalEngine } from './local-engine.js';
export { createLogger, type Logger, type LogLevel } from './logger.js';
export { ServerMetrics } from './metrics.js';
export type { TextCodec } from './model-core.js';
export type { Timings, Usage } from './request-tracker.js';
export { BatchScheduler, type BatchSchedulerOptions } from './scheduler.js';
export { type RunningServer, type StartOptions, servedModelName, startServer } from './server.js';
export {
  type ValidatedRequest,
  type ValidationLimits,
  validateChatRequest,
  validateCompletionRequest,
} from './validation.js';
export { WorkerEngine, type WorkerEngineOptions } from './worker-engine.js';
