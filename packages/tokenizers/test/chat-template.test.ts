import { describe, expect, it } from 'vitest';
import { ChatTemplate, PLAIN_CHAT_TEMPLATE } from '../src/chat-template.js';
import type { TokenizerConfig } from '../src/hf-tokenizer.js';
import { expected, readJson } from './helpers.js';

describe('ChatTemplate', () => {
  for (const name of ['bytelevel-bpe', 'llama-bpe', 'unigram'] as const) {
    it(`renders ${name}'s template exactly as jinja2 (transformers settings) does`, () => {
      const config = readJson(`${name}/tokenizer_config.json`) as TokenizerConfig;
      const template = ChatTemplate.fromTokenizerConfig(config);
      expect(template.isDefault).toBe(false);
      const ref = expected.chat[name];
      expect(ref.renders.length).toBe(4);
      for (const r of ref.renders) {
        const messages = r.with_system ? ref.messages : ref.messages.slice(1);
        const render = () => template.render(messages, { addGenerationPrompt: r.add_generation_prompt });
        if (r.error !== undefined) expect(render).toThrow(r.error);
        else expect(render()).toBe(r.text);
      }
    });
  }

  it("surfaces a template's raise_exception as a CHAT_TEMPLATE_ERROR", () => {
    const config = readJson('llama-bpe/tokenizer_config.json') as TokenizerConfig;
    const template = ChatTemplate.fromTokenizerConfig(config);
    const twoUsers = [
      { role: 'user', content: 'a' },
      { role: 'user', content: 'b' },
    ];
    expect(() => template.render(twoUsers)).toThrow(/Conversation roles must alternate/);
    try {
      template.render(twoUsers);
    } catch (e) {
      expect((e as { code: string }).code).toBe('CHAT_TEMPLATE_ERROR');
    }
  });

  it('falls back to a plain template when the model has none', () => {
    const template = ChatTemplate.fromTokenizerConfig({});
    expect(template.isDefault).toBe(true);
    expect(template.source).toBe(PLAIN_CHAT_TEMPLATE);
    expect(
      template.render([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: 'Bye' },
      ]),
    ).toBe('Be brief.\n\nUser: Hi\n\nAssistant: Hello.\n\nUser: Bye\n\nAssistant:');
  });

  it('picks the named template when tokenizer_config.json lists several', () => {
    const config: TokenizerConfig = {
      chat_template: [
        { name: 'default', template: 'D{{ messages | length }}' },
        { name: 'tool_use', template: 'T' },
      ],
    };
    expect(ChatTemplate.fromTokenizerConfig(config).render([{ role: 'user', content: 'x' }])).toBe('D1');
    expect(ChatTemplate.fromTokenizerConfig(config, 'tool_use').render([])).toBe('T');
    expect(() => ChatTemplate.fromTokenizerConfig(config, 'rag')).toThrow(/no chat template named "rag"/);
  });

  it('reports templates that do not parse and malformed messages', () => {
    expect(() => new ChatTemplate('{% for m in messages %}')).toThrow(/does not parse/);
    const t = new ChatTemplate('{{ messages[0].content }}');
    expect(() => t.render([{ role: 'user' } as never])).toThrow(/role: string, content: string/);
  });
});
