import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { type Context, Hono } from 'hono';
import type { ServerConfig } from './config.js';
import type { Engine, EngineEvent, RequestHandle } from './engine.js';
import {
  ApiError,
  InternalServerError,
  InvalidApiKeyError,
  InvalidRequestError,
  MethodNotAllowedError,
  ModelNotFoundError,
  QueueFullError,
  RouteNotFoundError,
  ServiceUnavailableError,
} from './errors.js';
import type { Logger } from './logger.js';
import type { ServerMetrics } from './metrics.js';
import { readJsonBody } from './request-body.js';
import { RequestTracker } from './request-tracker.js';
import { type ValidatedRequest, validateChatRequest, validateCompletionRequest } from './validation.js';

export type ServerStatus = 'loading' | 'ready' | 'failed' | 'draining';

/** What the HTTP layer needs from the rest of the server. */
export interface AppContext {
  config: ServerConfig;
  engine: Engine;
  metrics: ServerMetrics;
  logger: Logger;
  /** The id clients send as `model`. */
  modelName: string;
  status(): ServerStatus;
  /** Unix seconds the model finished loading (the `created` of /v1/models). */
  createdAt(): number;
}

type Env = { Variables: { requestId: string; log: Logger; arrivedAt: number } };

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function errorResponse(c: Context<Env>, error: ApiError): Response {
  for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
  return c.json(error.toBody(), error.status);
}

/** The OpenAI-compatible HTTP API. Pure request handling: listening and shutdown live in `server.ts`. */
export function createApp(ctx: AppContext): Hono<Env> {
  const { config, engine, metrics } = ctx;
  const app = new Hono<Env>();
  const expectedKey = config.apiKey === null ? null : digest(`Bearer ${config.apiKey}`);
  /** Recent request latency (EMA, seconds): the basis of Retry-After. */
  let recentLatency = 1;

  app.use('*', async (c, next) => {
    const arrivedAt = performance.now();
    const given = c.req.header('x-request-id');
    const requestId = given !== undefined && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
    const log = ctx.logger.child({ request_id: requestId });
    c.set('requestId', requestId);
    c.set('log', log);
    c.set('arrivedAt', arrivedAt);
    c.header('x-request-id', requestId);
    await next();
    // 503 (loading, draining) is the server saying 'not now', not a failure.
    const level = c.res.status === 503 ? 'warn' : c.res.status >= 500 ? 'error' : 'info';
    log.log(level, 'request', {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - arrivedAt) * 10) / 10,
    });
  });

  app.use('*', async (c, next) => {
    if (expectedKey === null || c.req.path === '/health') return next();
    const given = c.req.header('authorization') ?? '';
    if (!timingSafeEqual(digest(given), expectedKey)) throw new InvalidApiKeyError();
    return next();
  });

  app.onError((error, c) => {
    if (error instanceof ApiError) {
      if (error.status !== 401 && error.status !== 404) metrics.observeRejected(error.status);
      return errorResponse(c, error);
    }
    c.get('log')?.log('error', 'unhandled error', {
      error:
        error instanceof Error
          ? { name: error.name, message: error.message, stack: error.stack }
          : String(error),
    });
    return errorResponse(
      c,
      new InternalServerError('The server failed on this request; see its log for the request id.'),
    );
  });

  app.notFound((c) => errorResponse(c, new RouteNotFoundError(c.req.method, c.req.path)));

  function requireReady(): void {
    const status = ctx.status();
    if (status === 'loading')
      throw new ServiceUnavailableError('model_loading', 'The model is still loading; retry shortly.');
    if (status === 'draining')
      throw new ServiceUnavailableError('shutting_down', 'The server is shutting down.');
    if (status === 'failed') {
      throw new ServiceUnavailableError(
        'engine_failed',
        'The inference engine failed; the operator must restart the server.',
      );
    }
  }

  app.get('/health', (c) => {
    const status = ctx.status();
    const load = engine.occupancy();
    const body = { status, model: ctx.modelName, running: load.running, waiting: load.waiting };
    return c.json(body, status === 'ready' ? 200 : 503);
  });

  app.get('/metrics', async (c) => {
    const { contentType, body } = await metrics.render();
    return c.body(body, 200, { 'content-type': contentType });
  });

  const modelCard = () => ({
    id: ctx.modelName,
    object: 'model' as const,
    created: ctx.createdAt(),
    owned_by: 'densessm',
    max_model_len: engine.info?.contextLength ?? null,
    drafters: engine.info?.drafters ?? [],
  });

  app.get('/v1/models', (c) => {
    requireReady();
    return c.json({ object: 'list', data: [modelCard()] });
  });

  app.get('/v1/models/:model{.+}', (c) => {
    requireReady();
    const model = c.req.param('model');
    if (model !== ctx.modelName) throw new ModelNotFoundError(model.slice(0, 200), [ctx.modelName]);
    return c.json(modelCard());
  });

  function admit(): void {
    const load = engine.occupancy();
    if (load.running + load.waiting >= config.maxBatch + config.maxQueue) {
      const backlog = (load.waiting + 1) / config.maxBatch;
      throw new QueueFullError(Math.min(60, Math.max(1, Math.ceil(backlog * recentLatency))));
    }
  }

  async function generate(c: Context<Env>, endpoint: 'chat' | 'completion'): Promise<Response> {
    requireReady();
    const raw = await readJsonBody(c.req.raw, config.bodyLimitBytes);
    const info = engine.info;
    const limits = {
      servedModels: [ctx.modelName],
      maxTokensCap: config.maxTokensCap,
      defaultMaxTokens: config.defaultMaxTokens,
      drafters: info?.drafters ?? [],
    };
    const request =
      endpoint === 'chat' ? validateChatRequest(raw, limits) : validateCompletionRequest(raw, limits);
    admit();
    const engineId = randomUUID().replaceAll('-', '');
    const log = c.get('log');
    const arrivedAt = c.get('arrivedAt');
    const handle = engine.submit({
      id: engineId,
      input: request.input,
      sampling: request.sampling,
      // null: the engine's default drafter (--drafter).
      drafter: request.drafter,
    });
    const tracker = new RequestTracker(metrics, arrivedAt);
    const signal = c.req.raw.signal;
    const onAbort = () => {
      log.log('info', 'client disconnected; cancelling', { engine_id: engineId });
      handle.cancel();
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const events = handle.events[Symbol.asyncIterator]();
    const next = async (): Promise<EngineEvent | null> => {
      const result = await events.next();
      if (result.done) return null;
      tracker.observe(result.value);
      return result.value;
    };
    const finish = () => {
      signal.removeEventListener('abort', onAbort);
      const seconds = (performance.now() - arrivedAt) / 1000;
      recentLatency = 0.8 * recentLatency + 0.2 * seconds;
      const timings = tracker.timings();
      log.log('info', 'generation finished', {
        engine_id: engineId,
        finish: tracker.finishReason,
        ...tracker.usage(),
        ttft_ms: timings.ttft_ms,
        tokens_per_s: timings.predicted_per_second,
        drafter: timings.drafter,
        mean_accepted_length: timings.mean_accepted_length,
      });
    };
    // Wait for the request to join the batch (or fail) before answering, so that request-level failures
    // (a prompt longer than the context) still get a status code rather than an error inside a 200 stream.
    let first: EngineEvent | null;
    try {
      first = await next();
    } catch (error) {
      handle.cancel();
      finish();
      throw error;
    }
    if (first === null || first.type === 'error') {
      finish();
      throw engineFailure(first);
    }
    const id = `${endpoint === 'chat' ? 'chatcmpl' : 'cmpl'}-${engineId}`;
    const created = Math.floor(Date.now() / 1000);
    if (request.stream) {
      return streamResponse(c, { id, created, request, first, next, handle, tracker, finish, log });
    }
    let text = first.type === 'text' ? first.text : '';
    let last: EngineEvent | null = first;
    while (last && last.type !== 'done' && last.type !== 'error') {
      last = await next();
      if (last?.type === 'text') text += last.text;
    }
    finish();
    if (last === null || last.type === 'error') throw engineFailure(last);
    const finishReason = openAiFinishReason(last.finishReason);
    const usage = tracker.usage();
    const timings = tracker.timings();
    const choice =
      endpoint === 'chat'
        ? {
            index: 0,
            message: { role: 'assistant', content: text },
            logprobs: null,
            finish_reason: finishReason,
          }
        : { index: 0, text, logprobs: null, finish_reason: finishReason };
    return c.json({
      id,
      object: endpoint === 'chat' ? 'chat.completion' : 'text_completion',
      created,
      model: request.model,
      system_fingerprint: null,
      choices: [choice],
      usage,
      timings,
    });
  }

  app.post('/v1/chat/completions', (c) => generate(c, 'chat'));
  app.post('/v1/completions', (c) => generate(c, 'completion'));
  app.all('/v1/chat/completions', (c) => {
    throw new MethodNotAllowedError(c.req.method, c.req.path, 'POST');
  });
  app.all('/v1/completions', (c) => {
    throw new MethodNotAllowedError(c.req.method, c.req.path, 'POST');
  });
  for (const path of ['/v1/models', '/health', '/metrics']) {
    app.all(path, (c) => {
      throw new MethodNotAllowedError(c.req.method, c.req.path, 'GET');
    });
  }
  return app;
}

function openAiFinishReason(reason: string): string {
  // 'abort' (vLLM's word) only reaches a client when shutdown cancels its request.
  return reason === 'cancelled' ? 'abort' : reason;
}

function engineFailure(event: EngineEvent | null): ApiError {
  if (event === null) return new InternalServerError('The engine ended the request without an answer.');
  if (event.type !== 'error') return new InternalServerError(`Unexpected engine event '${event.type}'.`);
  if (event.badRequest) return new InvalidRequestError(event.message, null, event.code);
  if (event.code === 'engine_failed' || event.code === 'shutting_down' || event.code === 'model_loading') {
    return new ServiceUnavailableError(event.code, event.message);
  }
  return new InternalServerError(`Generation failed (${event.code}): ${event.message}`);
}

interface StreamArgs {
  id: string;
  created: number;
  request: ValidatedRequest;
  first: EngineEvent;
  next: () => Promise<EngineEvent | null>;
  handle: RequestHandle;
  tracker: RequestTracker;
  finish: () => void;
  log: Logger;
}

/** Server-sent events in OpenAI's chunk format, ending with `data: [DONE]`. */
function streamResponse(c: Context<Env>, args: StreamArgs): Response {
  const { id, created, request, first, next, handle, tracker, finish, log } = args;
  const chat = request.endpoint === 'chat';
  const encoder = new TextEncoder();
  const usageField = request.includeUsage ? { usage: null } : {};
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
    id,
    object: chat ? 'chat.completion.chunk' : 'text_completion',
    created,
    model: request.model,
    system_fingerprint: null,
    choices,
    ...usageField,
    ...extra,
  });
  const delta = (text: string, finishReason: string | null, role = false) =>
    chat
      ? {
          index: 0,
          delta:
            finishReason !== null && text === ''
              ? {}
              : role
                ? { role: 'assistant', content: text }
                : { content: text },
          logprobs: null,
          finish_reason: finishReason,
        }
      : { index: 0, text, logprobs: null, finish_reason: finishReason };
  let open = true;
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (data: unknown) => {
        if (open)
          controller.enqueue(
            encoder.encode(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`),
          );
      };
      try {
        if (chat) send(chunk([delta('', null, true)]));
        let event: EngineEvent | null = first;
        while (event !== null) {
          if (event.type === 'text' && event.text.length > 0) send(chunk([delta(event.text, null)]));
          if (event.type === 'done') {
            send(chunk([delta('', openAiFinishReason(event.finishReason))], { timings: tracker.timings() }));
            if (request.includeUsage) send(chunk([], { usage: tracker.usage(), timings: tracker.timings() }));
            break;
          }
          if (event.type === 'error') {
            const error = engineFailure(event);
            send(error.toBody());
            break;
          }
          event = await next();
        }
        send('[DONE]');
      } catch (error) {
        log.log('error', 'stream failed', { error: error instanceof Error ? error.message : String(error) });
        handle.cancel();
      } finally {
        finish();
        if (open) {
          open = false;
          controller.close();
        }
      }
    },
    cancel() {
      // The client went away: stop generating within one round and free the slot.
      open = false;
      handle.cancel();
    },
  });
  c.header('x-request-id', c.get('requestId'));
  return new Response(stream, {
    status: 200,
    headers: { ...SSE_HEADERS, 'x-request-id': c.get('requestId') },
  });
}
