export { ToyLanguageModel, type ToyModelOptions } from './testing/toy-language-model.js';
