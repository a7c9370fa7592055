import { describe, expect, it } from 'vitest';
import { writeTinyModel } from '../test/tiny-model.js';
import { loadTokenizer } from './tokenizer.js';

describe('loadTokenizer', () => {
  it('stops chat replies at EOS and at the token the template closes a turn with', async () => {
    const tokenizer = await loadTokenizer(await writeTinyModel());
    // ids: 256 <|endoftext|> (EOS), 260 <|end|> (closes every turn in the test template)
    expect(tokenizer.eosTokenIds).toEqual([256]);
    expect(tokenizer.chatStopTokenIds).toEqual([256, 260]);
  });

  it('renders and encodes a conversation with the chat template, without adding tokens around it', async () => {
    const tokenizer = await loadTokenizer(await writeTinyModel());
    const ids = tokenizer.encodeChat([{ role: 'user', content: 'Hi' }]);
    // <|user|> H i <|end|> \n <|assistant|>
    expect(ids).toEqual([258, 72, 105, 260, 10, 259]);
    expect(tokenizer.decode(ids)).toBe('Hi\n');
  });
});
