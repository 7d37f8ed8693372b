"""Storage: Chroma (local folder or server) behind a small protocol, and the BM25 index beside it."""
