"""The fixed parity text set, written to packages/tokenizers/test/fixtures/texts.json (run locally)."""

import json
import os

TEXTS = [
    "Hello, world! This is a simple ASCII sentence.",
    "Café naïve façade — résumé, Ångström, Øresund, Straße, Ελληνικά.",
    "日本語のテキストと中文文本，还有한국어 문장도 있습니다。",
    "Emoji: 😀👍🏽 👨‍👩‍👧‍👦 🇯🇵 ❤️‍🔥 and 🦀!",
    "def f(x):\n\treturn x  \n\n\tif x:   \n\t\tpass\t\n",
    "   leading and trailing spaces   ",
    "runs     of      whitespace\n\n\n\nand\r\nnewlines\n",
    "",
    " ",
    "\n",
    "numbers 1234567890 3.14159 -42 1e-9",
    "mixed: Привет мир! γειά σου κόσμε; cześć świecie; ¿qué tal? 😀",
    "special text <s> and </s> and <|endoftext|> inline",
    "combining e\u0301 vs é, ﬁ ligature, full-width ＡＢＣ１２３",
    "\u00a0non-breaking\u2009thin\u3000ideographic spaces",
    "rare: \U0001F9EC \U00010348 \u0fff \ufeffBOM \u0085NEL",
    "The quick brown fox jumps over the lazy dog. 素早い茶色の狐がのろまな犬を飛び越える。 Быстрая бурая лиса.",
    "    indented code line\n\t\tconst x = { a: 1, b: [2, 3] };   \n",
]


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "..", "packages", "tokenizers", "test", "fixtures", "texts.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"texts": TEXTS}, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
