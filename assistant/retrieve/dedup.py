"""Near-duplicate detection for syndicated copies of one report (5-word shingles)."""

from __future__ import annotations

import functools
import re

DUPLICATE_OVERLAP = 0.6  # share of the shorter text's shingles two copies of one report have in common


@functools.lru_cache(maxsize=1024)
def shingles(text: str) -> set[str]:
    """The text's 5-word shingles (lower-cased). Remembered for the last 1,024 texts (a question
    and its multiple-choice searches meet the same chunks again; this was ~2 ms a chunk, a third
    of a retrieval): the set returned is shared, so it must not be changed."""
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i : i + 5]) for i in range(max(1, len(words) - 4))}


def near_duplicate(a: set[str], b: set[str]) -> bool:
    """True when two shingle sets are copies of one text."""
    if not a or not b:
        return False
    inter = len(a & b)
    return inter / min(len(a), len(b)) >= DUPLICATE_OVERLAP
