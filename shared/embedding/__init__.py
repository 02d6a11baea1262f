"""Sentence embeddings with all-MiniLM-L6-v2 on CTranslate2 (used by the cache and by local-inference's Embed)."""
