"""How common an English word is, from the packaged MiniLM tokenizer's vocabulary.

BERT's WordPiece vocabulary lists whole words roughly from the most to the least frequent (id 1996
is "the"); a word it does not hold whole is rarer than any it does. That rank gives a rarity prior
that needs no corpus: what the BM25 index of a small store (a handful of articles) cannot give.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

TOKENIZER_PATH = Path(__file__).resolve().parent.parent / "data" / "minilm-tokenizer.json"
FIRST_WORD_ID = 1996  # ids below are special tokens, unused slots and single characters
VOCAB_SIZE = 30522


@lru_cache(maxsize=1)
def _vocab() -> dict[str, int]:
    data = json.loads(TOKENIZER_PATH.read_text(encoding="utf-8"))
    return {k: int(v) for k, v in data["model"]["vocab"].items()}


def rarity_prior(word: str) -> float:
    """log(rank / rank of "the"): 0 for the commonest words, about 2.7 for words not in the vocabulary."""
    rank = _vocab().get(word.lower(), VOCAB_SIZE)
    return math.log(max(rank, FIRST_WORD_ID) / FIRST_WORD_ID)
