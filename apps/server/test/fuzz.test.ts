import { createRng } from '@densessm/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_MODEL, metricValue, postJson, startTestServer, type TestServer } from './helpers.js';

interface Case {
  kind: string;
  method: string;
  path: string;
  body?: string | Uint8Array;
  chunked?: boolean;
}

const BODY_LIMIT = 16 * 1024;
const CHAT = '/v1/chat/completions';
const COMPLETIONS = '/v1/completions';

const validChat = () => ({
  model: FAKE_MODEL,
  messages: [{ role: 'user', content: 'Hello there' }],
  max_tokens: 4,
  temperature: 0,
});
const validCompletion = () => ({ model: FAKE_MODEL, prompt: 'Hello there', max_tokens: 4 });

/** Values that are wrong for each field (never null: null means "default" for optional fields). */
const WRONG_CHAT: Record<string, unknown[]> = {
  model: [123, null, [], {}, true, '', 'no-such-model'],
  messages: [
    'hi',
    123,
    {},
    null,
    [],
    [1],
    ['x'],
    [null],
    [{}],
    [{ role: 'user' }],
    [{ content: 'x' }],
    [{ role: 'user', content: 5 }],
    [{ role: 5, content: 'x' }],
    [{ role: 'robot', content: 'x' }],
    [{ role: 'tool', content: 'x' }],
    [{ role: 'user', content: null }],
    [{ role: 'user', content: [] }],
    [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://x' } }] }],
    [{ role: 'user', content: [{ type: 'text' }] }],
    [{ role: 'user', content: 'x', extra: 1 }],
    [{ role: 'user', content: 'x', name: '' }],
    [{ role: 'user', content: 'x', name: 7 }],
  ],
  max_tokens: ['10', 1.5, -1, 0, true, [], {}, 1e308, 2 ** 60, 1e6],
  max_completion_tokens: ['1', -5, 0.5, 1e9],
  temperature: ['0', -0.1, 2.5, 1e300, true, {}, []],
  top_p: [-1, 1.5, '1', [], false],
  seed: [1.5, '1', 1e300, {}, true],
  stop: [5, [1], [''], Array.from({ length: 40 }, () => 'x'), {}, 'x'.repeat(1000), [null], true, ''],
  stream: ['true', 1, {}, []],
  stream_options: [{ include_usage: true }, 'yes', { include_usage: 'yes' }, { other: true }],
  drafter: [5, 'unknown-drafter', [], {}],
  n: [2, '1', 0],
  presence_penalty: [1, '0'],
  frequency_penalty: [-1],
  logprobs: [true, 'yes'],
  logit_bias: [{ '50256': -100 }, 'x'],
  response_format: [{ type: 'json_object' }, 'json'],
  tools: [[{ type: 'function', function: { name: 'f' } }], 'x'],
  user: [5, 'x'.repeat(1000)],
};
const WRONG_COMPLETION: Record<string, unknown[]> = {
  model: WRONG_CHAT.model!,
  prompt: [123, null, [], ['a', 'b'], [1, 2, 3], {}, [null], true],
  max_tokens: WRONG_CHAT.max_tokens!,
  temperature: WRONG_CHAT.temperature!,
  top_p: WRONG_CHAT.top_p!,
  seed: WRONG_CHAT.seed!,
  stop: WRONG_CHAT.stop!,
  stream: WRONG_CHAT.stream!,
  echo: [true, 'no'],
  best_of: [3],
  logprobs: [5, true],
  suffix: ['tail'],
  drafter: WRONG_CHAT.drafter!,
  n: WRONG_CHAT.n!,
};
/** Raw JSON number texts that are out of range once parsed (1e400 parses to Infinity). */
const HUGE: [string, string][] = [
  ['max_tokens', '1e400'],
  ['max_tokens', '-1e400'],
  ['max_tokens', '1e-400'],
  ['max_tokens', '123456789012345678901234567890'],
  ['max_tokens', '99999999999'],
  ['temperature', '1e400'],
  ['temperature', '-1e400'],
  ['temperature', '100000'],
  ['seed', '1e400'],
  ['seed', '1e30'],
  ['seed', '-123456789012345678901234567890'],
  ['top_p', '1e400'],
  ['top_p', '2'],
];
const INVALID_UTF8: number[][] = [
  [0xff],
  [0xfe],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0x80],
  [0xe2, 0x82],
  [0xf4, 0x90, 0x80, 0x80],
];
const BAD_JSON_LITERALS = [
  '',
  ' ',
  'null',
  'true',
  '[]',
  '123',
  '"x"',
  '{',
  '}',
  '{"model":}',
  "{'model':'x'}",
  '{"model":"densessm-fake",}',
  '{"a":NaN}',
  '{"a":Infinity}',
  '[{"model":"densessm-fake"}]',
  '\u0000',
  'undefined',
  `${'['.repeat(5000)}${']'.repeat(5000)}`,
  `${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`,
  '{"model": "densessm-fake" "prompt": "x"}',
];

function generateCases(count: number, random: () => number): Case[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const endpoint = () => (random() < 0.5 ? CHAT : COMPLETIONS);
  const base = (path: string): Record<string, unknown> => (path === CHAT ? validChat() : validCompletion());
  const randomText = (length: number) =>
    Array.from({ length }, () => String.fromCharCode(32 + Math.floor(random() * 95))).join('');
  const generators: (() => Case)[] = [
    () => {
      const path = endpoint();
      const text = JSON.stringify(base(path));
      const cut =
        random() < 0.5
          ? text.slice(0, Math.floor(random() * (text.length - 1)))
          : randomText(1 + Math.floor(random() * 60));
      return { kind: 'bad-json', method: 'POST', path, body: random() < 0.3 ? pick(BAD_JSON_LITERALS) : cut };
    },
    () => {
      const path = endpoint();
      const table = path === CHAT ? WRONG_CHAT : WRONG_COMPLETION;
      const field = pick(Object.keys(table));
      const body = { ...base(path), [field]: pick(table[field]!) };
      return { kind: `wrong-type:${field}`, method: 'POST', path, body: JSON.stringify(body) };
    },
    () => {
      const path = endpoint();
      const [field, raw] = pick(HUGE);
      const body = { ...base(path) };
      delete body[field];
      const text = JSON.stringify(body).replace(/\}$/, `,"${field}":${raw}}`);
      return { kind: `huge:${field}`, method: 'POST', path, body: text };
    },
    () => {
      const path = endpoint();
      const name = pick([
        'foo',
        'Model',
        'MESSAGES',
        'max-tokens',
        '__proto__',
        'constructor',
        'top_k',
        'prompt ',
        'x'.repeat(300),
        randomText(8),
      ]);
      const text = JSON.stringify(base(path)).replace(
        /\}$/,
        `,${JSON.stringify(name)}:${JSON.stringify(pick([1, 'x', null, {}, [], true]))}}`,
      );
      return { kind: 'unknown-field', method: 'POST', path, body: text };
    },
    () => {
      const messages = pick([[], [{}], [{ role: 'user' }], [null], [[]], [{ role: '', content: '' }]]);
      return {
        kind: 'empty-messages',
        method: 'POST',
        path: CHAT,
        body: JSON.stringify({ ...validChat(), messages }),
      };
    },
    () => {
      const path = endpoint();
      const size = BODY_LIMIT + 1 + Math.floor(random() * BODY_LIMIT * 3);
      const body = JSON.stringify({ ...base(path), user: 'u', stop: ['x'.repeat(size)] });
      return { kind: 'oversized', method: 'POST', path, body, chunked: random() < 0.3 };
    },
    () => {
      const path = endpoint();
      const text = JSON.stringify(base(path));
      const at = text.indexOf('Hello') + Math.floor(random() * 5);
      const encoded = new TextEncoder().encode(text);
      const bad = pick(INVALID_UTF8);
      const bytes = new Uint8Array(encoded.length + bad.length);
      bytes.set(encoded.subarray(0, at));
      bytes.set(bad, at);
      bytes.set(encoded.subarray(at), at + bad.length);
      return { kind: 'invalid-utf8', method: 'POST', path, body: bytes };
    },
    () => {
      const [method, path] = pick([
        ['GET', CHAT],
        ['PUT', COMPLETIONS],
        ['DELETE', '/v1/models'],
        ['POST', '/v1/models'],
        ['GET', '/v1/nothing'],
        ['POST', '/v1/chat/completions/extra'],
        ['GET', '/%ff%fe'],
        ['POST', '/v2/completions'],
        ['PATCH', '/health'],
        ['GET', '/v1/models/nope'],
        ['POST', '/'],
      ] as const);
      const body = method === 'GET' || method === 'DELETE' ? undefined : JSON.stringify(validCompletion());
      return { kind: `route:${method} ${path}`, method, path, body };
    },
  ];
  return Array.from({ length: count }, () => pick(generators)());
}

async function send(baseUrl: string, c: Case): Promise<{ status: number; body: string }> {
  let body = c.body as BodyInit | undefined;
  if (c.chunked && c.body !== undefined) {
    const bytes = typeof c.body === 'string' ? new TextEncoder().encode(c.body) : c.body;
    body = new ReadableStream({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 4096) controller.enqueue(bytes.subarray(i, i + 4096));
        controller.close();
      },
    });
  }
  const response = await fetch(`${baseUrl}${c.path}`, {
    method: c.method,
    headers: { 'content-type': 'application/json' },
    body,
    ...(c.chunked ? { duplex: 'half' } : {}),
  } as RequestInit);
  return { status: response.status, body: await response.text() };
}

describe('fuzzing with malformed requests', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(
      { bodyLimitBytes: BODY_LIMIT, maxTokensCap: 1024 },
      { fakeCore: { roundMs: 0 } },
    );
  });
  afterAll(async () => {
    await server.close(1000);
  });

  it('answers every malformed request with a 4xx and an OpenAI error body, then still serves', async () => {
    const cases = generateCases(3000, createRng(20261122));
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const kinds = new Set<string>();
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const c = cases[next++]!;
        kinds.add(c.kind.split(':')[0]!);
        const { status, body } = await send(server.url, c).catch((error: Error) => ({
          status: -1,
          body: `${error.message}: ${String((error.cause as Error | undefined)?.message)}`,
        }));
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        let ok = status >= 400 && status < 500;
        try {
          const parsed = JSON.parse(body) as { error?: Record<string, unknown> };
          const error = parsed.error;
          ok &&= error !== undefined && typeof error.message === 'string' && typeof error.type === 'string';
          ok &&= error !== undefined && 'param' in error && 'code' in error;
        } catch {
          ok = false;
        }
        if (!ok && failures.length < 20) {
          const shown =
            typeof c.body === 'string'
              ? `${c.body.length}: ${c.body.slice(0, 100)}`
              : `<${c.body?.length ?? 0} bytes>`;
          failures.push(
            `${c.kind} chunked=${c.chunked ?? false} ${c.method} ${c.path} ${shown} -> ${status} ${body.slice(0, 200)}`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    expect(failures).toEqual([]);
    expect([...kinds].sort()).toEqual([
      'bad-json',
      'empty-messages',
      'huge',
      'invalid-utf8',
      'oversized',
      'route',
      'unknown-field',
      'wrong-type',
    ]);
    expect(statuses.get(413)).toBeGreaterThan(50);
    expect([...statuses.keys()].every((s) => s >= 400 && s < 500)).toBe(true);

    const valid = await postJson(`${server.url}${CHAT}`, validChat());
    expect(valid.status).toBe(200);
    expect(((await valid.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(
      4,
    );
    expect(await metricValue(server.url, 'vllm:num_requests_running')).toBe(0);
    expect(server.logs.filter((line) => line.level === 'error')).toEqual([]);
  });
});
