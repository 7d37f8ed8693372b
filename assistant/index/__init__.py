"""Indexing: ingest/sync under the writer lock, the manifest, crash recovery and the doctor."""
