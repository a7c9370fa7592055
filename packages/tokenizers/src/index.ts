export { ByteLevelTokenizer } from './byte-level.js';
export {
  type ChatMessage,
  ChatTemplate,
  PLAIN_CHAT_TEMPLATE,
  type RenderChatOptions,
} from './chat-template.js';
export {
  type BridgeStats,
  CrossTokenizerBridge,
  type CrossTokenizerBridgeOptions,
  type TokenEdit,
} from './cross-tokenizer-bridge.js';
export { TokenizerError, type TokenizerErrorCode } from './errors.js';
export { HfTokenizer, type HfTokenizerOptions, type TokenizerConfig } from './hf-tokenizer.js';
export {
  filesFromRecord,
  type LoadedTokenizer,
  type LoadTokenizerOptions,
  loadTokenizer,
  looksLikeTiktokenRanks,
  type ModelFiles,
  TOKENIZER_FILES,
} from './load.js';
export { type SentencePieceOptions, SentencePieceTokenizer } from './sentencepiece.js';
export { PieceType, parseSentencePieceModel, type SentencePieceModelProto } from './sentencepiece-model.js';
export { findStopString, type StopMatch, StopStringMatcher } from './stop-strings.js';
export { StreamingDetokenizer } from './streaming-detokenizer.js';
export {
  CL100K_PATTERN,
  parseTiktokenRanks,
  TIKTOKEN_ENCODINGS,
  type TiktokenEncodingName,
  type TiktokenOptions,
  TiktokenTokenizer,
} from './tiktoken.js';
export { type TokenTextChunk, TokenTextStream, type TokenTextStreamOptions } from './token-text-stream.js';
export type { AddedToken, DecodeOptions, EncodeOptions, Tokenizer, TokenizerKind } from './tokenizer.js';
