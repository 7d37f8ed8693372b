"""Retrieval: question -> numbered Passages (dense + BM25 fused, date preference, dedup)."""
