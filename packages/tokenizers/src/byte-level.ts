import type { AddedToken, DecodeOptions, EncodeOptions, Tokenizer } from './tokenizer.js';
import { assertIds, assertText, wellFormed } from './tokenizer.js';

const SPECIALS = ['<|bos|>', '<|eos|>', '<|pad|>'] as const;

/**
 * One token per UTF-8 byte (ids 0-255) plus BOS/EOS/PAD (256-258). Lossless for every string; used by
 * tests and by byte-level models that have no vocabulary.
 */
export class ByteLevelTokenizer implements Tokenizer {
  readonly kind = 'byte-level' as const;
  readonly vocabSize = 256 + SPECIALS.length;
  readonly bosTokenId = 256;
  readonly eosTokenId = 257;
  readonly padTokenId = 258;
  readonly unkTokenId = undefined;
  readonly addedTokens: readonly AddedToken[] = SPECIALS.map((content, i) => ({
    id: 256 + i,
    content,
    special: true,
  }));
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder('utf-8');

  encode(text: string, options: EncodeOptions = {}): number[] {
    assertText(text, 'ByteLevelTokenizer.encode');
    const ids = Array.from(this.encoder.encode(wellFormed(text)));
    return options.addSpecialTokens === false ? ids : [this.bosTokenId, ...ids];
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    assertIds(ids, this.vocabSize, 'ByteLevelTokenizer.decode');
    let out = '';
    let bytes: number[] = [];
    for (const id of ids) {
      if (id < 256) {
        bytes.push(id);
        continue;
      }
      out += this.decoder.decode(Uint8Array.from(bytes));
      bytes = [];
      if (!options.skipSpecialTokens) out += SPECIALS[id - 256];
    }
    return out + this.decoder.decode(Uint8Array.from(bytes));
  }

  idToToken(id: number): string | undefined {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) return undefined;
    return id < 256 ? `<0x${id.toString(16).toUpperCase().padStart(2, '0')}>` : SPECIALS[id - 256];
  }

  tokenToId(token: string): number | undefined {
    const special = SPECIALS.indexOf(token as (typeof SPECIALS)[number]);
    if (special >= 0) return 256 + special;
    const m = /^<0x([0-9A-F]{2})>$/.exec(token);
    return m ? Number.parseInt(m[1], 16) : undefined;
  }

  isSpecialToken(id: number): boolean {
    return id >= 256 && id < this.vocabSize;
  }
}
