import { describe, expect, it } from 'vitest';
import { InvalidRequestError, ModelNotFoundError } from '../src/errors.js';
import { validateChatRequest, validateCompletionRequest } from '../src/validation.js';

const limits = {
  servedModels: ['m'],
  maxTokensCap: 100,
  defaultMaxTokens: 16,
  drafters: ['auto', 'none', 'lookup'],
};
const chat = (extra: Record<string, unknown> = {}) => ({
  model: 'm',
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});

function rejection(fn: () => unknown): InvalidRequestError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidRequestError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('request validation', () => {
  it('fills defaults: temperature 1, top_p 1, default max_tokens, server drafter', () => {
    expect(validateChatRequest(chat(), limits)).toEqual({
      endpoint: 'chat',
      model: 'm',
      input: { kind: 'chat', messages: [{ role: 'user', content: 'hi' }] },
      sampling: { temperature: 1, topP: 1, seed: null, maxTokens: 16, stop: [] },
      stream: false,
      includeUsage: false,
      drafter: null,
    });
  });

  it('accepts what OpenAI clients send with neutral values, and text content parts', () => {
    const request = validateChatRequest(
      chat({
        messages: [
          {
            role: 'system',
            content: [
              { type: 'text', text: 'be ' },
              { type: 'text', text: 'brief' },
            ],
          },
          { role: 'user', content: 'hi', name: 'ada' },
        ],
        n: 1,
        presence_penalty: 0,
        frequency_penalty: 0,
        logprobs: false,
        user: 'u-1',
        response_format: { type: 'text' },
        max_completion_tokens: 7,
        stop: 'END',
        stream: true,
        stream_options: { include_usage: true },
        seed: -5,
        drafter: 'lookup',
        temperature: null,
      }),
      limits,
    );
    expect(request.input).toEqual({
      kind: 'chat',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi', name: 'ada' },
      ],
    });
    expect(request.sampling).toEqual({ temperature: 1, topP: 1, seed: -5, maxTokens: 7, stop: ['END'] });
    expect(request).toMatchObject({ stream: true, includeUsage: true, drafter: 'lookup' });
  });

  it('treats top_p 0 as greedy decoding', () => {
    expect(validateChatRequest(chat({ top_p: 0, temperature: 0.9 }), limits).sampling).toMatchObject({
      temperature: 0,
      topP: 1,
    });
  });

  it('names the offending field and says what to do', () => {
    expect(rejection(() => validateChatRequest(chat({ max_tokens: 101 }), limits))).toMatchObject({
      param: 'max_tokens',
      message: expect.stringContaining('at most 100'),
    });
    expect(rejection(() => validateChatRequest(chat({ n: 2 }), limits))).toMatchObject({
      param: 'n',
      code: 'unsupported_value',
    });
    expect(rejection(() => validateChatRequest(chat({ top_k: 5 }), limits))).toMatchObject({
      param: 'top_k',
      code: 'unknown_parameter',
    });
    expect(
      rejection(() =>
        validateChatRequest(
          chat({
            messages: [
              { role: 'user', content: 'x' },
              { role: 'tool', content: 'y' },
            ],
          }),
          limits,
        ),
      ),
    ).toMatchObject({ param: 'messages[1].role' });
    expect(
      rejection(() => validateChatRequest(chat({ stream_options: { include_usage: true } }), limits)),
    ).toMatchObject({
      param: 'stream_options',
    });
    expect(
      rejection(() => validateChatRequest(chat({ max_tokens: 5, max_completion_tokens: 5 }), limits)),
    ).toMatchObject({
      param: 'max_tokens',
    });
    expect(
      rejection(() => validateCompletionRequest({ model: 'm', prompt: ['a', 'b'] }, limits)),
    ).toMatchObject({
      param: 'prompt',
      message: expect.stringContaining('one prompt per request'),
    });
    expect(
      rejection(() => validateCompletionRequest({ model: 'm', prompt: 'a', drafter: 'medusa' }, limits)),
    ).toMatchObject({
      param: 'drafter',
    });
  });

  it('answers an unknown model with model_not_found (404)', () => {
    expect(() => validateCompletionRequest({ model: 'other', prompt: 'x' }, limits)).toThrow(
      ModelNotFoundError,
    );
  });
});
