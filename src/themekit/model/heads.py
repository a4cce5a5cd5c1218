"""Codebook heads: the frozen base encoder with one linear head per tier, as a spaCy component.

The heads have the codebook's shape: an exclusive tier is one softmax over its codes (its
scores sum to one, so "personal use" and "no personal use" cannot both be likely), a multi
tier one sigmoid per code. Each writes its codes' probabilities to `doc.cats`, where the
themekit component reads them as model scores, exactly as it reads a fine-tuned
categorizer's. The encoder is not saved with the heads: a model folder names it
(`all-MiniLM-L6-v2`, the packaged base, by default) and holds only the head weights, a few
kilobytes per tier, so a model can ship inside the package and load offline.

Word heads may join them: the same heads on TF-IDF word and word-pair features of the text,
whose probabilities are averaged with the sentence heads'. The frozen encoder knows what a
comment is about; the words carry the cues it smooths away ("I", "my", "therapist", "data"),
and on the real coded comments the average beats either alone. Training keeps them only
when cross-validation says they help.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch

from themekit.errors import ModelError
from themekit.model.encoder import PACKAGED_ENCODER, SentenceEncoder

HEADS = "themekit_heads"
WEIGHTS_FILE = "heads.npz"
CONFIG_FILE = "heads.json"
ABSENT = -30.0
"""The bias of a code with no training example: it scores about 1e-13, never passes."""


@dataclass
class TierHead:
    """One tier's linear head: `weights` (codes x dimension) and `bias`, and its link."""

    tier: str
    kind: str  # "exclusive": softmax over the codes; "multi": a sigmoid each
    labels: list[str]
    weights: numpy.ndarray
    bias: numpy.ndarray

    def scores(self, vectors: numpy.ndarray) -> numpy.ndarray:
        """Probabilities, one row per vector and one column per code."""
        logits = vectors @ self.weights.T + self.bias
        if self.kind == "exclusive":
            logits = logits - logits.max(axis=1, keepdims=True)
            exp = numpy.exp(logits)
            return exp / exp.sum(axis=1, keepdims=True)
        return 1.0 / (1.0 + numpy.exp(-logits))


def score_vectors(heads: Sequence[TierHead], vectors: Any) -> list[dict[str, float]]:
    """Every code's probability for each row of `vectors` (dense, or sparse word features),
    as `doc.cats` holds them."""
    rows: list[dict[str, float]] = [{} for _ in range(vectors.shape[0])]
    for head in heads:
        for row, probabilities in zip(rows, numpy.asarray(head.scores(vectors))):
            row.update(zip(head.labels, map(float, probabilities)))
    return rows


def blend(first: Sequence[dict[str, float]],
          second: Sequence[dict[str, float]]) -> list[dict[str, float]]:
    """The mean of two heads' probabilities, code by code (a softmax stays a softmax)."""
    return [{code: (a[code] + b[code]) / 2 for code in a} for a, b in zip(first, second)]


class WordFeatures:
    """TF-IDF of a comment's words and word pairs (lower-cased, one-letter words such as
    "I" kept), with the vocabulary and idf fitted on the training texts."""

    SETTINGS = {"ngram_range": (1, 2), "sublinear_tf": True, "min_df": 2,
                "token_pattern": r"(?u)\b\w+\b"}

    def __init__(self, vocabulary: Sequence[str], idf: numpy.ndarray) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vocabulary = list(vocabulary)
        self.vectorizer = TfidfVectorizer(
            vocabulary={term: i for i, term in enumerate(self.vocabulary)}, **self.SETTINGS)
        self.vectorizer.idf_ = numpy.asarray(idf, dtype=numpy.float64)

    @classmethod
    def fit(cls, texts: Sequence[str]) -> WordFeatures:
        from sklearn.feature_extraction.text import TfidfVectorizer

        fitted = TfidfVectorizer(**cls.SETTINGS).fit(texts)
        order = sorted(fitted.vocabulary_, key=fitted.vocabulary_.__getitem__)
        return cls(order, fitted.idf_)

    @property
    def idf(self) -> numpy.ndarray:
        return self.vectorizer.idf_

    def transform(self, texts: Sequence[str]) -> Any:
        """A sparse matrix, one row per text."""
        return self.vectorizer.transform(texts)


@Language.factory(
    HEADS,
    assigns=["doc.cats"],
    default_config={"encoder": PACKAGED_ENCODER, "max_length": 256, "batch_size": 32},
)
def make_heads(nlp: Language, name: str, encoder: str, max_length: int,
               batch_size: int) -> CodebookHeads:
    return CodebookHeads(nlp, name, encoder=encoder, max_length=max_length,
                         batch_size=batch_size)


def _head_config(head: TierHead) -> dict[str, Any]:
    return {"tier": head.tier, "kind": head.kind, "labels": head.labels}


class CodebookHeads:
    """Scores every leaf code of a codebook from the frozen encoder's sentence vector."""

    def __init__(self, nlp: Language, name: str = HEADS, *, encoder: str = PACKAGED_ENCODER,
                 max_length: int = 256, batch_size: int = 32) -> None:
        self.name = name
        self.encoder_name = encoder
        self.max_length = max_length
        self.batch_size = batch_size
        self.heads: list[TierHead] = []
        self.word_heads: list[TierHead] = []
        self.words: WordFeatures | None = None
        self._encoder: SentenceEncoder | None = None
        self._quantized = False

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(label for head in self.heads for label in head.labels)

    @property
    def encoder(self) -> SentenceEncoder:
        """Loaded at the first document, so `spacy.load` and pickling stay cheap."""
        if self._encoder is None:
            self._encoder = SentenceEncoder(self.encoder_name, self.max_length,
                                            self.batch_size, quantize=self._quantized)
        return self._encoder

    def quantize(self) -> None:
        """Int8 dynamic quantization of the encoder's Linear layers (CPU inference)."""
        self._quantized = True
        if self._encoder is not None:
            from themekit.nlp.pipeline import quantize_linear_layers

            quantize_linear_layers(self._encoder.model)

    def set_heads(self, heads: Sequence[TierHead], word_heads: Sequence[TierHead] = (),
                  words: WordFeatures | None = None) -> None:
        """The sentence heads, and optionally word heads with their features."""
        if bool(word_heads) != (words is not None):
            raise ValueError("word heads and their word features come together")
        self.heads, self.word_heads, self.words = list(heads), list(word_heads), words

    def __call__(self, doc: Doc) -> Doc:
        return next(self.pipe([doc]))

    def pipe(self, stream: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        for batch in minibatch(stream, size=batch_size):
            for doc, scores in zip(batch, self.score_texts([doc.text for doc in batch])):
                doc.cats.update(scores)
                yield doc

    def score_texts(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Every code's probability for each text, as `doc.cats` holds them."""
        if not self.heads:
            raise ModelError(f"component '{self.name}' has no heads: train them with "
                             "`themekit train --mode heads`, or load a trained model")
        if not texts:
            return []
        scores = score_vectors(self.heads, self.encoder.encode(texts))
        if self.words is not None:
            scores = blend(scores, score_vectors(self.word_heads, self.words.transform(texts)))
        return scores

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the loaded encoder (`nlp.pipe(n_process=...)`), which each
        process loads again at its first document."""
        return {**self.__dict__, "_encoder": None}

    # ------------------------------------------------------------------ serialization

    def _config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"heads": [_head_config(h) for h in self.heads]}
        if self.words is not None:
            config["word_heads"] = [_head_config(h) for h in self.word_heads]
            config["words"] = self.words.vocabulary
        return config

    def _arrays(self) -> dict[str, numpy.ndarray]:
        arrays = {}
        for prefix, heads in (("", self.heads), ("words.", self.word_heads)):
            for head in heads:
                arrays[f"{prefix}{head.tier}.weights"] = head.weights
                arrays[f"{prefix}{head.tier}.bias"] = head.bias
        if self.words is not None:
            arrays["words.idf"] = self.words.idf
        return arrays

    def _load(self, config: dict[str, Any], arrays: Any) -> None:
        def heads(key: str, prefix: str) -> list[TierHead]:
            return [TierHead(h["tier"], h["kind"], list(h["labels"]),
                             numpy.asarray(arrays[f"{prefix}{h['tier']}.weights"],
                                           dtype=numpy.float32),
                             numpy.asarray(arrays[f"{prefix}{h['tier']}.bias"],
                                           dtype=numpy.float32))
                    for h in config.get(key, [])]

        words = (WordFeatures(config["words"], numpy.asarray(arrays["words.idf"]))
                 if "words" in config else None)
        self.set_heads(heads("heads", ""), heads("word_heads", "words."), words)

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if "heads" in exclude:
            return
        (path / CONFIG_FILE).write_text(json.dumps(self._config(), indent=2) + "\n",
                                        encoding="utf-8")
        numpy.savez_compressed(path / WEIGHTS_FILE, **self._arrays())

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> CodebookHeads:
        path = Path(path)
        if "heads" in exclude:
            return self
        config = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
        with numpy.load(path / WEIGHTS_FILE) as arrays:
            self._load(config, arrays)
        return self

    @classmethod
    def from_model(cls, model_dir: str | Path) -> CodebookHeads:
        """The heads of a saved heads model (a `themekit train` output), without the rest of
        its pipeline: how the themekit component runs a codebook's default model."""
        from spacy.util import load_model_from_path

        nlp = load_model_from_path(Path(model_dir), exclude=["themekit"])
        if HEADS not in nlp.pipe_names:
            raise ModelError(f"{model_dir}: not a heads model (its pipeline is "
                             f"{', '.join(nlp.pipe_names) or 'empty'}); a codebook's default "
                             "model is trained with `themekit train --mode heads`")
        return nlp.get_pipe(HEADS)

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        import srsly

        return srsly.msgpack_dumps({"config": self._config(), "arrays": {
            k: (v.tolist()) for k, v in self._arrays().items()}})

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> CodebookHeads:
        import srsly

        loaded = srsly.msgpack_loads(data)
        self._load(loaded["config"], loaded["arrays"])
        return self
