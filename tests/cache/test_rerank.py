"""The lexical rerank prefers the wording closest to the query among affirmed candidates."""

from __future__ import annotations

import pytest

from services.cache.core.rerank import features, trigram_cosine


def test_lexical_score_prefers_the_closer_wording() -> None:
    query = features("The to_batches method converts a Table to a list of RecordBatch objects")
    near = features("The to_batches method converts a Table into a list of RecordBatch objects")
    far = features("A Table can be turned into several record batches with a method")
    assert trigram_cosine(query, near) > trigram_cosine(query, far)
    assert trigram_cosine(query, query) == pytest.approx(1.0)
    assert trigram_cosine(features(""), query) == 0.0
