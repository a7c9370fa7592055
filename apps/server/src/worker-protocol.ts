import type { EngineEvent, EngineInfo, EngineRequest } from './engine.js';

/** HTTP thread -> inference thread. */
export type ToWorkerMessage =
  | { type: 'submit'; request: EngineRequest }
  | { type: 'cancel'; id: string }
  | { type: 'close' };

/** Inference thread -> HTTP thread. */
export type ToMainMessage =
  | { type: 'ready'; info: EngineInfo }
  | { type: 'load-failed'; message: string }
  | { type: 'event'; id: string; event: EngineEvent }
  | { type: 'closed' };
