"""Okapi BM25 over a sparse inverted index, with a tokeniser for English, Mandarin and a mix of both.

English words are lower-cased and lightly stemmed (plural, -ing, -ed, final e), so "prices", "priced" and
"pricing" meet. Mandarin has no spaces and we ship no segmenter: every run of Han characters becomes its
character unigrams and bigrams, which is the usual segmenter-free baseline and tolerant of ASR slips (one
wrong character breaks two bigrams, not the whole word). Mixed utterances ("这个 plan 贵吗") get both kinds.

Each term's postings hold its documents and their precomputed BM25 weights, so a query costs one
array addition per query term: scoring 10,000 short documents takes well under a millisecond.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["Bm25Index", "Scores", "stem", "tokenize"]

Scores = npt.NDArray[np.float32]

_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+(?:'[a-z]+)?")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def stem(word: str) -> str:
    """A deliberately light suffix stripper: consistent, not linguistic ("price"/"priced"/"pricing" → "pric")."""
    w = word.removesuffix("'s").replace("'", "")
    if len(w) > 4 and w.endswith("ies") and not w.endswith(("eies", "aies")):
        w = w[:-3] + "y"
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ing", "ed"):
        if len(w) - len(suffix) >= 4 and w.endswith(suffix):
            w = w[: -len(suffix)]
            break
    if len(w) > 4 and w.endswith("e"):
        w = w[:-1]
    return w


def tokenize(text: str) -> list[str]:
    """Stemmed English words plus Han unigrams and bigrams; punctuation and other scripts are dropped."""
    out: list[str] = []
    for run in _TOKEN.findall(text.lower()):
        if _HAN.match(run):
            out.extend(run)
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.append(stem(run))
    return out


class Bm25Index:
    """Immutable BM25 index over tokenised documents (rebuild to add documents).

    `idf` is the Lucene form, log(1 + (N - df + 0.5) / (df + 0.5)), which never goes negative, so a term
    present in most documents still counts a little instead of penalising them.
    """

    def __init__(self, documents: Sequence[Sequence[str]], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.n_docs = len(documents)
        lengths = np.array([len(d) for d in documents], dtype=np.float32)
        avg = float(lengths.mean()) if self.n_docs and float(lengths.mean()) > 0 else 1.0
        norm = k1 * (1.0 - b + b * lengths / avg)
        docs_of: dict[str, list[int]] = {}
        tfs_of: dict[str, list[int]] = {}
        for i, doc in enumerate(documents):
            for term, tf in Counter(doc).items():
                docs_of.setdefault(term, []).append(i)
                tfs_of.setdefault(term, []).append(tf)
        self._idf: dict[str, float] = {}
        self._postings: dict[str, tuple[npt.NDArray[np.int32], Scores]] = {}
        for term, ids in docs_of.items():
            idf = math.log(1.0 + (self.n_docs - len(ids) + 0.5) / (len(ids) + 0.5))
            doc_ids = np.array(ids, dtype=np.int32)
            freq = np.array(tfs_of[term], dtype=np.float32)
            weights = (idf * freq * (k1 + 1.0) / (freq + norm[doc_ids])).astype(np.float32)
            self._idf[term] = idf
            self._postings[term] = (doc_ids, weights)

    def idf(self, term: str) -> float:
        """0.0 for a term no document holds."""
        return self._idf.get(term, 0.0)

    def scores(self, query: Iterable[str]) -> Scores:
        """Raw BM25 per document (dense, length `n_docs`); a repeated query term counts once."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        for term in set(query):
            posting = self._postings.get(term)
            if posting is not None:
                out[posting[0]] += posting[1]  # doc ids are unique within a posting: no np.add.at needed
        return out

    def coverage(self, query: Iterable[str]) -> Scores:
        """Scores divided by the summed idf of the query's known terms, clipped to [0, 1].

        About 1.0 when a document of average length holds every known query term once; terms no document
        holds are left out, so filler words and names the library never saw do not dilute the match.
        """
        terms = set(query)
        total = sum(self.idf(t) for t in terms)
        raw = self.scores(terms)
        if total <= 0.0:
            return raw
        np.multiply(raw, 1.0 / total, out=raw)
        clipped: Scores = np.minimum(raw, 1.0, out=raw)
        return clipped

    def top(self, query: Iterable[str], k: int) -> list[tuple[int, float]]:
        """The k best (document, score) pairs with a positive score, best first."""
        s = self.scores(query)
        k = min(k, self.n_docs)
        if k <= 0:
            return []
        idx = np.argpartition(-s, k - 1)[:k]
        ranked = sorted(idx.tolist(), key=lambda i: (-float(s[i]), i))
        return [(i, float(s[i])) for i in ranked if s[i] > 0.0]
