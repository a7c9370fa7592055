"""Corpus loading, tokenizer training and token streams.

Corpus: <dir>/{train,validation,test}.jsonl.xz from build_corpus.py (one JSON object per file: src, path, text).
Tokenizer: byte-level BPE (Hugging Face `tokenizers`), trained on the train split only.
Token stream: every file becomes [<|endoftext|>] + tokens(text); files are concatenated in corpus order.
"""
import json
import lzma
import os

import numpy as np

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"]
EOT = 0  # id of <|endoftext|> (BOS and EOS)
CHAT_TEMPLATE = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
                 "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def read_split(corpus_dir, split):
    with lzma.open(os.path.join(corpus_dir, f"{split}.jsonl.xz"), "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def train_tokenizer(texts, vocab_size=8192):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    assert tok.token_to_id("<|endoftext|>") == EOT
    return tok


def tokenizer_config():
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "unk_token": None,
        "add_bos_token": False, "add_eos_token": False, "clean_up_tokenization_spaces": False,
        "model_max_length": 4096, "chat_template": CHAT_TEMPLATE,
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
    }


def save_tokenizer(tok, outdir):
    os.makedirs(outdir, exist_ok=True)
    tok.save(os.path.join(outdir, "tokenizer.json"))
    json.dump(tokenizer_config(), open(os.path.join(outdir, "tokenizer_config.json"), "w"), indent=1)


def load_tokenizer(tokdir):
    from tokenizers import Tokenizer
    return Tokenizer.from_file(os.path.join(tokdir, "tokenizer.json"))


def encode_docs(tok, docs):
    enc = tok.encode_batch([d["text"] for d in docs], add_special_tokens=False)
    parts = []
    for e in enc:
        parts.append(np.array([EOT] + e.ids, dtype=np.int32))
    return np.concatenate(parts) if parts else np.zeros(0, np.int32)


def token_streams(corpus_dir, tok, splits=("train", "validation", "test")):
    return {sp: encode_docs(tok, read_split(corpus_dir, sp)) for sp in splits}
