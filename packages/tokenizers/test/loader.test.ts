import { describe, expect, it } from 'vitest';
import { filesFromRecord, loadTokenizer, looksLikeTiktokenRanks } from '../src/load.js';
import { loadTokenizerFromDirectory } from '../src/node.js';
import { expected, FIXTURES, readFixture } from './helpers.js';

describe('loadTokenizer picks the adapter from the folder', () => {
  it('tokenizer.json + tokenizer_config.json (byte-level BPE, ChatML template)', async () => {
    const loaded = await loadTokenizerFromDirectory(`${FIXTURES}/bytelevel-bpe`);
    expect(loaded.source).toBe('tokenizer.json');
    expect(loaded.tokenizer.kind).toBe('tokenizer.json');
    const tok = loaded.tokenizer;
    expect(tok.bosTokenId).toBe(tok.tokenToId('<|endoftext|>'));
    expect(tok.eosTokenId).toBe(tok.tokenToId('<|endoftext|>'));
    expect(tok.padTokenId).toBe(tok.tokenToId('<|padding|>'));
    expect(tok.addedTokens.map((t) => [t.content, t.special])).toEqual([
      ['<|endoftext|>', true],
      ['<|padding|>', true],
      ['<|im_start|>', true],
      ['<|im_end|>', true],
      ['densessm', false],
    ]);
    expect(tok.isSpecialToken(tok.tokenToId('<|im_end|>')!)).toBe(true);
    expect(tok.isSpecialToken(tok.tokenToId('densessm')!)).toBe(false);
    expect(loaded.chatTemplate.render([{ role: 'user', content: 'hi' }])).toBe(
      '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('tokenizer.model (SentencePiece) with a plain default chat template', async () => {
    const loaded = await loadTokenizerFromDirectory(`${FIXTURES}/spm-bpe`);
    expect(loaded.source).toBe('tokenizer.model');
    expect(loaded.tokenizer.kind).toBe('sentencepiece');
    expect(loaded.chatTemplate.isDefault).toBe(true);
    expect(loaded.tokenizer.idToToken(loaded.tokenizer.bosTokenId!)).toBe('<s>');
    expect(loaded.tokenizer.idToToken(loaded.tokenizer.eosTokenId!)).toBe('</s>');
    expect(loaded.tokenizer.tokenToId('<0x0A>')).toBe(
      loaded.tokenizer.encode('\n', { addSpecialTokens: false })[1],
    );
  });

  it('a .tiktoken rank file with tiktoken_config.json', async () => {
    const loaded = await loadTokenizerFromDirectory(`${FIXTURES}/tiktoken`);
    expect(loaded.source).toBe('tokenizer.tiktoken');
    expect(loaded.tokenizer.kind).toBe('tiktoken');
    expect(loaded.tokenizer.eosTokenId).toBe(loaded.tokenizer.tokenToId('<|endoftext|>'));
    const c = expected.tokenizers.tiktoken.cases[1];
    expect(loaded.tokenizer.encode(c.text)).toEqual(c.ids);
  });

  it('a tiktoken rank file named tokenizer.model (as LLaMA 3 ships it)', async () => {
    const ranks = readFixture('tiktoken/tokenizer.tiktoken');
    expect(looksLikeTiktokenRanks(new Uint8Array(ranks))).toBe(true);
    expect(looksLikeTiktokenRanks(new Uint8Array(readFixture('spm-bpe/tokenizer.model')))).toBe(false);
    const loaded = await loadTokenizer(
      filesFromRecord({
        'tokenizer.model': new Uint8Array(ranks),
        'tiktoken_config.json': readFixture('tiktoken/tiktoken_config.json').toString('utf8'),
      }),
    );
    expect(loaded.tokenizer.kind).toBe('tiktoken');
    const c = expected.tokenizers.tiktoken.cases[3];
    expect(loaded.tokenizer.encode(c.text)).toEqual(c.ids);
  });

  it('named encodings through js-tiktoken (cl100k_base, o200k_base)', async () => {
    const cl100k = await loadTokenizer(filesFromRecord({}), { encoding: 'cl100k_base' });
    expect(cl100k.source).toBe('tiktoken:cl100k_base');
    // Well-known cl100k_base ids.
    expect(cl100k.tokenizer.encode('hello world')).toEqual([15339, 1917]);
    expect(cl100k.tokenizer.eosTokenId).toBe(100257);
    expect(cl100k.tokenizer.decode(cl100k.tokenizer.encode('Grüße, 世界 😀'))).toBe('Grüße, 世界 😀');
    const o200k = await loadTokenizer(
      filesFromRecord({ 'tiktoken_config.json': '{"encoding": "o200k_base"}' }),
    );
    expect(o200k.tokenizer.vocabSize).toBeGreaterThan(199_990);
  });

  it('generation_config.json eos_token_id overrides the tokenizer EOS', async () => {
    const loaded = await loadTokenizer(
      filesFromRecord({
        'tokenizer.model': new Uint8Array(readFixture('spm-bpe/tokenizer.model')),
        'generation_config.json': '{"eos_token_id": [5, 2]}',
      }),
    );
    expect(loaded.tokenizer.eosTokenId).toBe(5);
  });

  it('reads the chat template from chat_template.jinja or chat_template.json when the config has none', async () => {
    const model = new Uint8Array(readFixture('spm-bpe/tokenizer.model'));
    const jinja = await loadTokenizer(
      filesFromRecord({ 'tokenizer.model': model, 'chat_template.jinja': '{{ messages[0].content }}!' }),
    );
    expect(jinja.chatTemplate.render([{ role: 'user', content: 'hey' }])).toBe('hey!');
    const json = await loadTokenizer(
      filesFromRecord({
        'tokenizer.model': model,
        'chat_template.json': '{"chat_template": "[{{ messages | length }}]"}',
      }),
    );
    expect(json.chatTemplate.render([])).toBe('[0]');
  });

  it('falls back to the byte-level tokenizer only when asked', async () => {
    const loaded = await loadTokenizer(filesFromRecord({ 'config.json': '{}' }), {
      allowByteLevelFallback: true,
    });
    expect(loaded.tokenizer.kind).toBe('byte-level');
    expect(loaded.tokenizer.decode(loaded.tokenizer.encode('é'))).toBe('<|bos|>é');
  });

  it('honours add_bos_token / add_eos_token from tokenizer_config.json for SentencePiece', async () => {
    const loaded = await loadTokenizer(
      filesFromRecord({
        'tokenizer.model': new Uint8Array(readFixture('spm-bpe/tokenizer.model')),
        'tokenizer_config.json': '{"add_bos_token": false, "add_eos_token": true}',
      }),
    );
    const ids = loaded.tokenizer.encode('hi');
    expect(ids[0]).not.toBe(loaded.tokenizer.bosTokenId);
    expect(ids.at(-1)).toBe(loaded.tokenizer.eosTokenId);
  });
});
