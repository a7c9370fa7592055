/**
 * Errors the HTTP API answers with. Each maps to an HTTP status and the OpenAI error body
 * `{"error":{"message","type","param","code"}}`, so OpenAI clients raise their usual exception classes.
 */
export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'service_unavailable_error'
  | 'server_error';

export interface OpenAiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

export class ApiError extends Error {
  override readonly name: string = 'ApiError';
  constructor(
    readonly status: 400 | 401 | 404 | 405 | 413 | 415 | 429 | 500 | 503,
    readonly type: ApiErrorType,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  toBody(): OpenAiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** A field is missing, has the wrong type or is out of range. */
export class InvalidRequestError extends ApiError {
  override readonly name = 'InvalidRequestError';
  constructor(message: string, param: string | null = null, code = 'invalid_value') {
    super(400, 'invalid_request_error', code, message, param);
  }
}

export class InvalidApiKeyError extends ApiError {
  override readonly name = 'InvalidApiKeyError';
  constructor() {
    super(
      401,
      'authentication_error',
      'invalid_api_key',
      'Missing or wrong API key. Send it as "Authorization: Bearer <key>" (the key the server was started with).',
      null,
      { 'www-authenticate': 'Bearer' },
    );
  }
}

export class ModelNotFoundError extends ApiError {
  override readonly name = 'ModelNotFoundError';
  constructor(model: string, served: readonly string[]) {
    super(
      404,
      'invalid_request_error',
      'model_not_found',
      `The model '${model}' is not served here. GET /v1/models lists the served models: ${served.join(', ')}.`,
      'model',
    );
  }
}

export class RouteNotFoundError extends ApiError {
  override readonly name = 'RouteNotFoundError';
  constructor(method: string, path: string) {
    super(
      404,
      'not_found_error',
      'not_found',
      `No route ${method} ${path}. Endpoints: GET /v1/models, POST /v1/completions, POST /v1/chat/completions, GET /health, GET /metrics.`,
    );
  }
}

export class MethodNotAllowedError extends ApiError {
  override readonly name = 'MethodNotAllowedError';
  constructor(method: string, path: string, allowed: string) {
    super(
      405,
      'invalid_request_error',
      'method_not_allowed',
      `${method} is not allowed on ${path}; use ${allowed}.`,
      null,
      {
        allow: allowed,
      },
    );
  }
}

export class BodyTooLargeError extends ApiError {
  override readonly name = 'BodyTooLargeError';
  constructor(limitBytes: number) {
    super(
      413,
      'invalid_request_error',
      'request_too_large',
      `The request body exceeds the server's limit of ${limitBytes} bytes. Send a shorter prompt or raise --body-limit.`,
    );
  }
}

export class QueueFullError extends ApiError {
  override readonly name = 'QueueFullError';
  constructor(retryAfterSeconds: number) {
    super(
      429,
      'rate_limit_error',
      'queue_full',
      `The server is at capacity (every batch slot and queue place is taken). Retry after ${retryAfterSeconds} s.`,
      null,
      { 'retry-after': String(retryAfterSeconds) },
    );
  }
}

export class ServiceUnavailableError extends ApiError {
  override readonly name = 'ServiceUnavailableError';
  constructor(code: 'model_loading' | 'shutting_down' | 'engine_failed', message: string) {
    super(503, 'service_unavailable_error', code, message, null, { 'retry-after': '5' });
  }
}

/** An engine failure while serving a valid request. The only 5xx a request can get besides 503. */
export class InternalServerError extends ApiError {
  override readonly name = 'InternalServerError';
  constructor(message: string) {
    super(500, 'server_error', 'internal_error', message);
  }
}

/** Bad configuration (flags or environment). Thrown before anything listens. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'invalid_config';
}

/** The engine could not start (model folder missing, worker died while loading...). */
export class EngineLoadError extends Error {
  override readonly name = 'EngineLoadError';
  readonly code = 'engine_load_failed';
}
