import type { ChatMessage, EngineInput, SamplingParams } from './engine.js';
import { InvalidRequestError, ModelNotFoundError } from './errors.js';

/** A request that passed validation, in the engine's terms. */
export interface ValidatedRequest {
  endpoint: 'chat' | 'completion';
  model: string;
  input: EngineInput;
  sampling: SamplingParams;
  stream: boolean;
  includeUsage: boolean;
  drafter: string | null;
}

export interface ValidationLimits {
  servedModels: readonly string[];
  maxTokensCap: number;
  defaultMaxTokens: number;
  drafters: readonly string[];
}

const MAX_STOP_STRINGS = 16;
const MAX_STOP_LENGTH = 512;

type Body = Record<string, unknown>;

/**
 * Fields OpenAI defines that this server does not implement; each is accepted only with its neutral value, so
 * clients that send defaults explicitly keep working and a request that asks for the feature gets a clear 400.
 */
const NEUTRAL_FIELDS: Record<string, (value: unknown) => boolean> = {
  n: (v) => v === 1,
  presence_penalty: (v) => v === 0,
  frequency_penalty: (v) => v === 0,
  logit_bias: (v) => isPlainObject(v) && Object.keys(v).length === 0,
  user: (v) => typeof v === 'string' && v.length <= 256,
};
const CHAT_NEUTRAL_FIELDS: Record<string, (value: unknown) => boolean> = {
  ...NEUTRAL_FIELDS,
  logprobs: (v) => v === false,
  response_format: (v) => isPlainObject(v) && v.type === 'text' && Object.keys(v).length === 1,
  tools: (v) => Array.isArray(v) && v.length === 0,
  tool_choice: (v) => v === 'none',
  parallel_tool_calls: (v) => typeof v === 'boolean',
  store: (v) => v === false,
};
const COMPLETION_NEUTRAL_FIELDS: Record<string, (value: unknown) => boolean> = {
  ...NEUTRAL_FIELDS,
  best_of: (v) => v === 1,
  echo: (v) => v === false,
  suffix: (v) => v === '',
  // Completions' logprobs is a count; only null (none) is served.
  logprobs: () => false,
};

const COMMON_FIELDS = [
  'model',
  'max_tokens',
  'temperature',
  'top_p',
  'seed',
  'stop',
  'stream',
  'stream_options',
  'drafter',
];
const CHAT_FIELDS = new Set([
  ...COMMON_FIELDS,
  'messages',
  'max_completion_tokens',
  ...Object.keys(CHAT_NEUTRAL_FIELDS),
]);
const COMPLETION_FIELDS = new Set([...COMMON_FIELDS, 'prompt', ...Object.keys(COMPLETION_NEUTRAL_FIELDS)]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function expectObject(value: unknown): Body {
  if (!isPlainObject(value)) {
    throw new InvalidRequestError(
      `The request body must be a JSON object, got ${typeName(value)}.`,
      null,
      'invalid_type',
    );
  }
  return value;
}

function checkFields(
  body: Body,
  allowed: Set<string>,
  neutral: Record<string, (value: unknown) => boolean>,
): void {
  for (const key of Object.keys(body)) {
    if (!allowed.has(key)) {
      throw new InvalidRequestError(
        `Unrecognized request argument supplied: ${key}.`,
        key,
        'unknown_parameter',
      );
    }
    const isNeutral = neutral[key];
    const value = body[key];
    if (isNeutral && value !== null && !isNeutral(value)) {
      throw new InvalidRequestError(
        `'${key}' = ${JSON.stringify(value)?.slice(0, 80)} is not supported by this server; omit it or send its default.`,
        key,
        'unsupported_value',
      );
    }
  }
}

function optionalNumber(body: Body, key: string, min: number, max: number): number | null {
  const value = body[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidRequestError(`'${key}' must be a number, got ${typeName(value)}.`, key, 'invalid_type');
  }
  if (value < min || value > max) {
    throw new InvalidRequestError(`'${key}' must be between ${min} and ${max}, got ${value}.`, key);
  }
  return value;
}

function optionalInteger(body: Body, key: string, min: number, max: number): number | null {
  const value = optionalNumber(body, key, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  if (value === null) return null;
  if (!Number.isInteger(value)) {
    throw new InvalidRequestError(`'${key}' must be an integer, got ${value}.`, key, 'invalid_type');
  }
  if (value < min || value > max) {
    throw new InvalidRequestError(`'${key}' must be between ${min} and ${max}, got ${value}.`, key);
  }
  return value;
}

function optionalBoolean(body: Body, key: string): boolean | null {
  const value = body[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'boolean') {
    throw new InvalidRequestError(`'${key}' must be a boolean, got ${typeName(value)}.`, key, 'invalid_type');
  }
  return value;
}

function readModel(body: Body, servedModels: readonly string[]): string {
  const model = body.model;
  if (typeof model !== 'string' || model.length === 0) {
    throw new InvalidRequestError(
      model === undefined
        ? "'model' is required."
        : `'model' must be a non-empty string, got ${typeName(model)}.`,
      'model',
      model === undefined ? 'missing_required_parameter' : 'invalid_type',
    );
  }
  if (!servedModels.includes(model)) throw new ModelNotFoundError(model.slice(0, 200), servedModels);
  return model;
}

function readStop(body: Body): string[] {
  const stop = body.stop;
  if (stop === undefined || stop === null) return [];
  const list = typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(list)) {
    throw new InvalidRequestError(
      `'stop' must be a string or an array of strings, got ${typeName(stop)}.`,
      'stop',
      'invalid_type',
    );
  }
  if (list.length > MAX_STOP_STRINGS) {
    throw new InvalidRequestError(
      `'stop' may hold at most ${MAX_STOP_STRINGS} strings, got ${list.length}.`,
      'stop',
    );
  }
  return list.map((item, i) => {
    if (typeof item !== 'string' || item.length === 0 || item.length > MAX_STOP_LENGTH) {
      throw new InvalidRequestError(
        `'stop[${i}]' must be a non-empty string of at most ${MAX_STOP_LENGTH} characters.`,
        `stop[${i}]`,
        'invalid_type',
      );
    }
    return item;
  });
}

function readSampling(body: Body, limits: ValidationLimits, maxTokensKey: string): SamplingParams {
  const cap = limits.maxTokensCap;
  const maxTokens = optionalInteger(body, maxTokensKey, 1, Number.MAX_SAFE_INTEGER);
  if (maxTokens !== null && maxTokens > cap) {
    throw new InvalidRequestError(
      `'${maxTokensKey}' is ${maxTokens}, above this server's cap of ${cap}. Ask for at most ${cap} tokens.`,
      maxTokensKey,
    );
  }
  const temperature = optionalNumber(body, 'temperature', 0, 2) ?? 1;
  const topP = optionalNumber(body, 'top_p', 0, 1) ?? 1;
  const seed = optionalInteger(body, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  return {
    // top_p = 0 keeps only the most likely token: that is greedy decoding.
    temperature: topP === 0 ? 0 : temperature,
    topP: topP === 0 ? 1 : topP,
    seed,
    maxTokens: maxTokens ?? Math.min(limits.defaultMaxTokens, cap),
    stop: readStop(body),
  };
}

function readStreaming(body: Body): { stream: boolean; includeUsage: boolean } {
  const stream = optionalBoolean(body, 'stream') ?? false;
  const options = body.stream_options;
  if (options === undefined || options === null) return { stream, includeUsage: false };
  if (!stream) {
    throw new InvalidRequestError(
      "'stream_options' is only allowed when 'stream' is true.",
      'stream_options',
    );
  }
  if (!isPlainObject(options)) {
    throw new InvalidRequestError(
      `'stream_options' must be an object, got ${typeName(options)}.`,
      'stream_options',
      'invalid_type',
    );
  }
  for (const key of Object.keys(options)) {
    if (key !== 'include_usage') {
      throw new InvalidRequestError(
        `Unrecognized stream option: ${key}.`,
        `stream_options.${key}`,
        'unknown_parameter',
      );
    }
  }
  return { stream, includeUsage: optionalBoolean(options, 'include_usage') ?? false };
}

function readDrafter(body: Body, drafters: readonly string[]): string | null {
  const drafter = body.drafter;
  if (drafter === undefined || drafter === null) return null;
  if (typeof drafter !== 'string' || !drafters.includes(drafter)) {
    throw new InvalidRequestError(
      `'drafter' must be one of ${drafters.map((d) => `'${d}'`).join(', ')}.`,
      'drafter',
      typeof drafter === 'string' ? 'invalid_value' : 'invalid_type',
    );
  }
  return drafter;
}

const ROLES = new Set(['system', 'developer', 'user', 'assistant']);

function readContent(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content) && content.length > 0) {
    return content
      .map((part, j) => {
        if (!isPlainObject(part) || part.type !== 'text' || typeof part.text !== 'string') {
          throw new InvalidRequestError(
            `'${param}[${j}]' must be a text part {"type":"text","text":"..."}; this model reads text only.`,
            `${param}[${j}]`,
            'invalid_type',
          );
        }
        return part.text;
      })
      .join('');
  }
  throw new InvalidRequestError(
    `'${param}' must be a string or a non-empty array of text parts, got ${typeName(content)}.`,
    param,
    'invalid_type',
  );
}

function readMessages(body: Body): ChatMessage[] {
  const messages = body.messages;
  if (messages === undefined)
    throw new InvalidRequestError("'messages' is required.", 'messages', 'missing_required_parameter');
  if (!Array.isArray(messages)) {
    throw new InvalidRequestError(
      `'messages' must be an array, got ${typeName(messages)}.`,
      'messages',
      'invalid_type',
    );
  }
  if (messages.length === 0)
    throw new InvalidRequestError("'messages' must not be empty.", 'messages', 'empty_array');
  return messages.map((message, i) => {
    const param = `messages[${i}]`;
    if (!isPlainObject(message)) {
      throw new InvalidRequestError(
        `'${param}' must be an object, got ${typeName(message)}.`,
        param,
        'invalid_type',
      );
    }
    for (const key of Object.keys(message)) {
      if (key !== 'role' && key !== 'content' && key !== 'name') {
        throw new InvalidRequestError(
          `Unrecognized field '${key}' in '${param}'.`,
          `${param}.${key}`,
          'unknown_parameter',
        );
      }
    }
    const role = message.role;
    if (typeof role !== 'string' || !ROLES.has(role)) {
      throw new InvalidRequestError(
        `'${param}.role' must be one of 'system', 'developer', 'user', 'assistant'.`,
        `${param}.role`,
        'invalid_value',
      );
    }
    const content = readContent(message.content, `${param}.content`);
    const name = message.name;
    if (name !== undefined && (typeof name !== 'string' || name.length === 0 || name.length > 64)) {
      throw new InvalidRequestError(
        `'${param}.name' must be a string of 1-64 characters.`,
        `${param}.name`,
        'invalid_type',
      );
    }
    return name === undefined
      ? { role: role as ChatMessage['role'], content }
      : { role: role as ChatMessage['role'], content, name };
  });
}

function readPrompt(body: Body): string {
  const prompt = body.prompt;
  if (prompt === undefined)
    throw new InvalidRequestError("'prompt' is required.", 'prompt', 'missing_required_parameter');
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string') return prompt[0];
  throw new InvalidRequestError(
    Array.isArray(prompt) && prompt.length > 1
      ? "'prompt' holds several prompts; this server takes one prompt per request."
      : `'prompt' must be a string (or an array of one string), got ${typeName(prompt)}.`,
    'prompt',
    'invalid_type',
  );
}

export function validateChatRequest(raw: unknown, limits: ValidationLimits): ValidatedRequest {
  const body = expectObject(raw);
  const model = readModel(body, limits.servedModels);
  checkFields(body, CHAT_FIELDS, CHAT_NEUTRAL_FIELDS);
  if (body.max_tokens != null && body.max_completion_tokens != null) {
    throw new InvalidRequestError(
      "Send either 'max_tokens' or 'max_completion_tokens', not both.",
      'max_tokens',
    );
  }
  const messages = readMessages(body);
  const sampling = readSampling(
    body,
    limits,
    body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens',
  );
  return {
    endpoint: 'chat',
    model,
    input: { kind: 'chat', messages },
    sampling,
    ...readStreaming(body),
    drafter: readDrafter(body, limits.drafters),
  };
}

export function validateCompletionRequest(raw: unknown, limits: ValidationLimits): ValidatedRequest {
  const body = expectObject(raw);
  const model = readModel(body, limits.servedModels);
  checkFields(body, COMPLETION_FIELDS, COMPLETION_NEUTRAL_FIELDS);
  const prompt = readPrompt(body);
  return {
    endpoint: 'completion',
    model,
    input: { kind: 'text', prompt },
    sampling: readSampling(body, limits, 'max_tokens'),
    ...readStreaming(body),
    drafter: readDrafter(body, limits.drafters),
  };
}
