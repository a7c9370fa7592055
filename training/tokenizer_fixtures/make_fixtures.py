"""Trains small tokenizers and records reference ids for @densessm/tokenizers' parity tests.

Runs on the GPU machine, the only place where the reference libraries (`tokenizers`, `sentencepiece`,
`tiktoken`, `jinja2`) are installed:

    python3 training/tokenizer_fixtures/make_fixtures.py

Inputs (all in the repository): corpus.txt / heldout.txt from build_corpus.py, the parity texts
(packages/tokenizers/test/fixtures/texts.json, from parity_texts.py) and the hand-written
tokenizer_config.json files with chat templates in the fixture folders.

Output: $OUT/fixtures.tar.gz holding one folder per tokenizer (the trained files) and expected.json
with, per tokenizer, the ids for every parity text with and without special tokens, the token strings,
the decoded text, ids for the held-out text, decodes of seeded random id streams (byte pieces included,
so invalid UTF-8 is exercised) and reference chat-template renders. Each stage is guarded, so a failure
in one is logged in expected.json["errors"] and the others still produce their fixtures.
"""

import base64
import json
import os
import random
import shutil
import sys
import tarfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
FIXTURES = os.path.join(REPO, "packages", "tokenizers", "test", "fixtures")
CORPUS = os.path.join(HERE, "corpus.txt")
HELDOUT = os.path.join(HERE, "heldout.txt")
WORK = "/tmp/densessm-tokfix"
OUT = os.environ.get("OUT", "/tmp/densessm-tokfix-out")

# The cl100k_base split pattern as js-tiktoken writes it (no possessive quantifiers, no inline flags), so
# Python's fancy-regex and JavaScript's RegExp read the same pattern.
TIKTOKEN_PATTERN = (
    r"('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)"
    r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

CHAT_MESSAGES = [
    {"role": "system", "content": "  You are a terse assistant. Réponds en français si besoin.  "},
    {"role": "user", "content": "Hi! What is 2+2? 日本語でも答えて 😀"},
    {"role": "assistant", "content": "4 (四)."},
    {"role": "user", "content": "Thanks.\nBye\t"},
]

results = {"versions": {}, "errors": {}, "tokenizers": {}, "chat": {}, "timings_s": {}}


def log(*args):
    print(*args, flush=True)


def stage(name):
    def wrap(fn):
        def run(*a, **k):
            t0 = time.time()
            try:
                return fn(*a, **k)
            except Exception:  # noqa: BLE001 - every stage is independent; record and go on
                results["errors"][name] = traceback.format_exc()
                log("STAGE FAILED", name, results["errors"][name])
                return None
            finally:
                results["timings_s"][name] = round(time.time() - t0, 3)

        return run

    return wrap


def read_texts():
    with open(os.path.join(FIXTURES, "texts.json"), encoding="utf-8") as f:
        texts = json.load(f)["texts"]
    with open(HELDOUT, encoding="utf-8", newline="") as f:
        heldout = f.read()
    return texts, heldout


def random_id_streams(vocab_size, byte_range, seed, count=6, length=48):
    """Seeded id streams, half of the ids drawn from the byte pieces (when the tokenizer has them)."""
    rng = random.Random(seed)
    streams = []
    for _ in range(count):
        ids = []
        for _ in range(length):
            if byte_range and rng.random() < 0.5:
                ids.append(rng.randint(byte_range[0], byte_range[1]))
            else:
                ids.append(rng.randrange(vocab_size))
        streams.append(ids)
    return streams


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable-char table (the ByteLevel alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def record_hf(name, tok, texts, heldout, byte_range=None):
    from tokenizers import Tokenizer  # noqa: F401

    entry = {"kind": "tokenizer.json", "vocab_size": tok.get_vocab_size(with_added_tokens=True), "cases": []}
    for text in texts:
        enc_special = tok.encode(text, add_special_tokens=True)
        enc_plain = tok.encode(text, add_special_tokens=False)
        entry["cases"].append(
            {
                "text": text,
                "ids": enc_plain.ids,
                "ids_with_special": enc_special.ids,
                "tokens": enc_plain.tokens,
                "decoded": tok.decode(enc_plain.ids, skip_special_tokens=False),
                "decoded_with_special_skipped": tok.decode(enc_special.ids, skip_special_tokens=True),
                "decoded_with_special_kept": tok.decode(enc_special.ids, skip_special_tokens=False),
            }
        )
    entry["heldout_ids"] = tok.encode(heldout, add_special_tokens=False).ids
    entry["heldout_decoded_equal"] = tok.decode(entry["heldout_ids"]) == heldout
    streams = random_id_streams(tok.get_vocab_size(with_added_tokens=True), byte_range, seed=len(name))
    entry["random_decodes"] = [
        {
            "ids": ids,
            "decoded": tok.decode(ids, skip_special_tokens=False),
            "decoded_skip_special": tok.decode(ids, skip_special_tokens=True),
        }
        for ids in streams
    ]
    results["tokenizers"][name] = entry


@stage("bytelevel-bpe")
def make_bytelevel(texts, heldout):
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=2000,
        min_frequency=2,
        special_tokens=["<|endoftext|>", "<|padding|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train([CORPUS], trainer)
    tok.add_special_tokens([AddedToken("<|im_start|>", special=True), AddedToken("<|im_end|>", special=True)])
    tok.add_tokens([AddedToken("densessm", special=False)])
    out = os.path.join(WORK, "bytelevel-bpe")
    os.makedirs(out, exist_ok=True)
    tok.save(os.path.join(out, "tokenizer.json"))
    record_hf("bytelevel-bpe", tok, texts, heldout)
    return tok


@stage("llama-bpe")
def make_llama_bpe(texts, heldout):
    """LLaMA's tokenizer.json layout: Prepend/Replace normalizer, no pre-tokenizer, BPE with byte fallback."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    base = Tokenizer(models.BPE(unk_token="<unk>"))
    base.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)
    trainer = trainers.BpeTrainer(
        vocab_size=1800, special_tokens=["<unk>", "<s>", "</s>"], limit_alphabet=400, show_progress=False
    )
    base.train([CORPUS], trainer)
    trained = json.loads(base.to_str())
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = 3 + b
    for piece, _ in sorted(trained["model"]["vocab"].items(), key=lambda kv: kv[1]):
        if piece not in vocab:
            vocab[piece] = len(vocab)
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in trained["model"]["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)]
    )
    tok.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t in ["<unk>", "<s>", "</s>"]]
    )
    out = os.path.join(WORK, "llama-bpe")
    os.makedirs(out, exist_ok=True)
    tok.save(os.path.join(out, "tokenizer.json"))
    record_hf("llama-bpe", tok, texts, heldout, byte_range=(3, 258))


@stage("unigram")
def make_unigram(texts, heldout):
    from tokenizers import Tokenizer
    from tokenizers.implementations import SentencePieceUnigramTokenizer

    sp = SentencePieceUnigramTokenizer()
    sp.train(
        files=[CORPUS],
        vocab_size=4000,
        show_progress=False,
        special_tokens=["<unk>", "<s>", "</s>"],
        unk_token="<unk>",
    )
    out = os.path.join(WORK, "unigram")
    os.makedirs(out, exist_ok=True)
    sp.save(os.path.join(out, "tokenizer.json"))
    tok = Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
    record_hf("unigram", tok, texts, heldout)


def record_spm(name, model_path, texts, heldout):
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=model_path)
    byte_ids = [i for i in range(sp.get_piece_size()) if sp.is_byte(i)]
    entry = {
        "kind": "sentencepiece",
        "vocab_size": sp.get_piece_size(),
        "bos_id": sp.bos_id(),
        "eos_id": sp.eos_id(),
        "unk_id": sp.unk_id(),
        "pad_id": sp.pad_id(),
        "cases": [],
    }
    for text in texts:
        ids = sp.encode(text)
        case = {
            "text": text,
            "ids": ids,
            "tokens": sp.encode(text, out_type=str),
            "decoded": sp.decode(ids),
        }
        try:
            case["normalized"] = sp.normalize(text)
        except Exception:  # noqa: BLE001 - older sentencepiece has no normalize()
            pass
        entry["cases"].append(case)
    entry["heldout_ids"] = sp.encode(heldout)
    entry["heldout_decoded_equal"] = sp.decode(entry["heldout_ids"]) == heldout
    streams = random_id_streams(
        sp.get_piece_size(), (min(byte_ids), max(byte_ids)) if byte_ids else None, seed=len(name)
    )
    entry["random_decodes"] = [{"ids": ids, "decoded": sp.decode(ids)} for ids in streams]
    results["tokenizers"][name] = entry


@stage("spm")
def make_spm(texts, heldout):
    import sentencepiece as spm

    common = dict(
        input=CORPUS,
        character_coverage=0.9995,
        byte_fallback=True,
        num_threads=8,
        minloglevel=2,
        max_sentence_length=16384,
        bos_id=1,
        eos_id=2,
        unk_id=0,
        user_defined_symbols="<|im_start|>,<|im_end|>",
        hard_vocab_limit=False,
    )
    specs = {
        # LLaMA's settings: identity normalization, whitespace kept, digits split.
        "spm-bpe": dict(
            model_type="bpe",
            vocab_size=3000,
            normalization_rule_name="identity",
            add_dummy_prefix=True,
            remove_extra_whitespaces=False,
            split_digits=True,
            allow_whitespace_only_pieces=True,
        ),
        # Unigram with identity normalization but extra whitespace removed.
        "spm-unigram": dict(
            model_type="unigram",
            vocab_size=3000,
            normalization_rule_name="identity",
            add_dummy_prefix=True,
            remove_extra_whitespaces=True,
        ),
        # sentencepiece's defaults (nmt_nfkc precompiled charsmap).
        "spm-unigram-nfkc": dict(model_type="unigram", vocab_size=3000),
    }
    for name, spec in specs.items():
        t0 = time.time()
        try:
            out = os.path.join(WORK, name)
            os.makedirs(out, exist_ok=True)
            prefix = os.path.join(out, "tokenizer")
            spm.SentencePieceTrainer.train(model_prefix=prefix, **common, **spec)
            os.remove(prefix + ".vocab")
            record_spm(name, prefix + ".model", texts, heldout)
        except Exception:  # noqa: BLE001
            results["errors"][name] = traceback.format_exc()
            log("SPM FAILED", name, results["errors"][name])
        results["timings_s"][name] = round(time.time() - t0, 3)


@stage("tiktoken")
def make_tiktoken(texts, heldout):
    """A tiktoken rank file built from the byte-level BPE's merges (rank = merge order)."""
    import tiktoken

    with open(os.path.join(WORK, "bytelevel-bpe", "tokenizer.json"), encoding="utf-8") as f:
        bl = json.load(f)
    byte_decoder = {c: b for b, c in bytes_to_unicode().items()}
    ranks = {bytes([b]): b for b in range(256)}
    for m in bl["model"]["merges"]:
        a, b = (m if isinstance(m, list) else m.split(" "))
        token = bytes(byte_decoder[c] for c in a + b)
        if token not in ranks:
            ranks[token] = len(ranks)
    n = len(ranks)
    special = {"<|endoftext|>": n, "<|im_start|>": n + 1, "<|im_end|>": n + 2}
    enc = tiktoken.Encoding(
        name="densessm_fixture", pat_str=TIKTOKEN_PATTERN, mergeable_ranks=ranks, special_tokens=special
    )
    out = os.path.join(WORK, "tiktoken")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "tokenizer.tiktoken"), "w", encoding="ascii") as f:
        for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
            f.write(base64.b64encode(token).decode("ascii") + " " + str(rank) + "\n")
    with open(os.path.join(out, "tiktoken_config.json"), "w", encoding="utf-8") as f:
        json.dump({"pat_str": TIKTOKEN_PATTERN, "special_tokens": special, "eos_token": "<|endoftext|>"}, f, indent=2)
    entry = {"kind": "tiktoken", "vocab_size": enc.n_vocab, "cases": []}
    for text in texts:
        ids = enc.encode_ordinary(text)
        entry["cases"].append(
            {
                "text": text,
                "ids": ids,
                "ids_allowed_special": enc.encode(text, allowed_special="all"),
                "decoded": enc.decode(ids),
            }
        )
    entry["heldout_ids"] = enc.encode_ordinary(heldout)
    streams = random_id_streams(n, None, seed=7)
    entry["random_decodes"] = [{"ids": ids, "decoded": enc.decode(ids)} for ids in streams]
    results["tokenizers"]["tiktoken"] = entry


@stage("hf-converted-llama")
def make_converted(texts, heldout):
    """transformers' own SentencePiece -> tokenizer.json conversion of spm-bpe (what real LLaMA folders hold)."""
    model = os.path.join(WORK, "spm-bpe", "tokenizer.model")
    from transformers.convert_slow_tokenizer import LlamaConverter

    class Slow:
        vocab_file = model
        legacy = False
        add_prefix_space = None
        handle_byte_fallback = True

    try:
        fast = LlamaConverter(Slow()).converted()
    except Exception:  # noqa: BLE001 - API differs between transformers versions; try the tokenizer class
        from transformers import LlamaTokenizerFast

        fast = LlamaTokenizerFast(vocab_file=model, from_slow=True, legacy=False).backend_tokenizer
    out = os.path.join(WORK, "hf-converted-llama")
    os.makedirs(out, exist_ok=True)
    fast.save(os.path.join(out, "tokenizer.json"))
    record_hf("hf-converted-llama", fast, texts, heldout, byte_range=(3, 258))


@stage("chat")
def render_chat():
    """Reference renders with jinja2 configured as transformers configures it."""
    from jinja2.exceptions import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = lambda x, indent=None: json.dumps(x, ensure_ascii=False, indent=indent)
    env.globals["raise_exception"] = raise_exception
    for name in ["bytelevel-bpe", "llama-bpe", "unigram"]:
        with open(os.path.join(FIXTURES, name, "tokenizer_config.json"), encoding="utf-8") as f:
            cfg = json.load(f)
        template = env.from_string(cfg["chat_template"])
        renders = []
        for add_generation_prompt in (False, True):
            for messages in (CHAT_MESSAGES, CHAT_MESSAGES[1:]):
                kwargs = dict(
                    messages=messages,
                    add_generation_prompt=add_generation_prompt,
                    bos_token=cfg.get("bos_token") or "",
                    eos_token=cfg.get("eos_token") or "",
                )
                try:
                    text = template.render(**kwargs)
                    renders.append({"with_system": messages is CHAT_MESSAGES, "add_generation_prompt": add_generation_prompt, "text": text})
                except TemplateError as e:
                    renders.append({"with_system": messages is CHAT_MESSAGES, "add_generation_prompt": add_generation_prompt, "error": str(e)})
        results["chat"][name] = {"messages": CHAT_MESSAGES, "renders": renders}


def versions():
    for mod in ["tokenizers", "sentencepiece", "tiktoken", "jinja2", "transformers"]:
        try:
            results["versions"][mod] = __import__(mod).__version__
        except Exception as e:  # noqa: BLE001
            results["versions"][mod] = "missing: " + repr(e)
    results["versions"]["python"] = sys.version


def main():
    t0 = time.time()
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    os.makedirs(OUT, exist_ok=True)
    versions()
    log(json.dumps(results["versions"]))
    texts, heldout = read_texts()
    make_bytelevel(texts, heldout)
    make_llama_bpe(texts, heldout)
    make_unigram(texts, heldout)
    make_spm(texts, heldout)
    make_tiktoken(texts, heldout)
    make_converted(texts, heldout)
    render_chat()
    results["timings_s"]["total"] = round(time.time() - t0, 3)
    with open(os.path.join(WORK, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, ensure_ascii=False)
    with tarfile.open(os.path.join(OUT, "fixtures.tar.gz"), "w:gz") as tar:
        tar.add(WORK, arcname="fixtures")
    for name, entry in results["tokenizers"].items():
        log(name, "vocab", entry["vocab_size"], "heldout ids", len(entry["heldout_ids"]))
    log("errors:", list(results["errors"].keys()))
    log("timings:", json.dumps(results["timings_s"]))


if __name__ == "__main__":
    main()
