import { Template } from '@huggingface/jinja';
import { TokenizerError } from './errors.js';
import { type TokenizerConfig, tokenName } from './hf-tokenizer.js';

export interface ChatMessage {
  role: string;
  content: string;
  [key: string]: unknown;
}

export interface RenderChatOptions {
  /** End with the opening of an assistant turn, so the model answers. Default true. */
  addGenerationPrompt?: boolean;
  /** Extra template variables (tools, documents, date_string...). */
  variables?: Record<string, unknown>;
}

/** Used when a model ships no chat template: plain "User:/Assistant:" turns. */
export const PLAIN_CHAT_TEMPLATE =
  "{% for message in messages %}{% if message['role'] == 'system' %}{{ message['content'] }}\n\n" +
  "{% else %}{{ message['role'] | capitalize }}: {{ message['content'] }}\n\n{% endif %}{% endfor %}" +
  '{% if add_generation_prompt %}Assistant:{% endif %}';

/** A Jinja chat template (tokenizer_config.json `chat_template`) rendered with @huggingface/jinja. */
export class ChatTemplate {
  readonly source: string;
  readonly isDefault: boolean;
  private readonly template: Template;
  private readonly bosToken: string;
  private readonly eosToken: string;

  constructor(source: string, special: { bosToken?: string; eosToken?: string } = {}, isDefault = false) {
    if (typeof source !== 'string') {
      throw new TokenizerError('CHAT_TEMPLATE_ERROR', 'a chat template must be a string of Jinja source.');
    }
    try {
      this.template = new Template(source);
    } catch (cause) {
      throw new TokenizerError(
        'CHAT_TEMPLATE_ERROR',
        `the chat template does not parse: ${(cause as Error).message}. Fix chat_template in tokenizer_config.json.`,
        { cause },
      );
    }
    this.source = source;
    this.isDefault = isDefault;
    this.bosToken = special.bosToken ?? '';
    this.eosToken = special.eosToken ?? '';
  }

  /** The template of a tokenizer_config.json (the "default" one when it lists several), or the plain one. */
  static fromTokenizerConfig(config: TokenizerConfig | undefined, name = 'default'): ChatTemplate {
    const special = { bosToken: tokenName(config?.bos_token), eosToken: tokenName(config?.eos_token) };
    const raw = config?.chat_template;
    if (typeof raw === 'string') return new ChatTemplate(raw, special);
    if (Array.isArray(raw)) {
      const entry = raw.find((t) => t.name === name);
      if (!entry) {
        throw new TokenizerError(
          'CHAT_TEMPLATE_ERROR',
          `tokenizer_config.json has no chat template named ${JSON.stringify(name)}; it has ${raw.map((t) => JSON.stringify(t.name)).join(', ')}.`,
        );
      }
      return new ChatTemplate(entry.template, special);
    }
    return new ChatTemplate(PLAIN_CHAT_TEMPLATE, special, true);
  }

  render(messages: readonly ChatMessage[], options: RenderChatOptions = {}): string {
    if (
      !Array.isArray(messages) ||
      messages.some((m) => !m || typeof m.role !== 'string' || typeof m.content !== 'string')
    ) {
      throw new TokenizerError(
        'CHAT_TEMPLATE_ERROR',
        'chat messages must be an array of { role: string, content: string } objects.',
      );
    }
    try {
      return this.template.render({
        bos_token: this.bosToken,
        eos_token: this.eosToken,
        ...options.variables,
        messages,
        add_generation_prompt: options.addGenerationPrompt ?? true,
      });
    } catch (cause) {
      throw new TokenizerError(
        'CHAT_TEMPLATE_ERROR',
        `the chat template failed to render (a template's raise_exception lands here too): ${(cause as Error).message}`,
        { cause },
      );
    }
  }
}
