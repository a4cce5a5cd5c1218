"""Codebook heads: the frozen base encoder with one linear head per tier, as a spaCy component.

The heads have the codebook's shape: an exclusive tier is one softmax over its codes (its
scores sum to one, so "personal use" and "no personal use" cannot both be likely), a multi
tier one sigmoid per code. Each writes its codes' probabilities to `doc.cats`, where the
themekit component reads them as model scores, exactly as it reads a fine-tuned
categorizer's. The encoder is not saved with the heads: a model folder names it
(`all-MiniLM-L6-v2`, the packaged base, by default) and holds only the head weights, a few
kilobytes per tier, so a model can ship inside the package and load offline.
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

from themekit.encoder import PACKAGED_ENCODER, SentenceEncoder

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


def score_vectors(heads: Sequence[TierHead], vectors: numpy.ndarray) -> list[dict[str, float]]:
    """Every code's probability for each vector, as `doc.cats` holds them."""
    rows: list[dict[str, float]] = [{} for _ in range(len(vectors))]
    for head in heads:
        for row, probabilities in zip(rows, head.scores(vectors)):
            row.update(zip(head.labels, map(float, probabilities)))
    return rows


@Language.factory(
    HEADS,
    assigns=["doc.cats"],
    default_config={"encoder": PACKAGED_ENCODER, "max_length": 256, "batch_size": 32},
)
def make_heads(nlp: Language, name: str, encoder: str, max_length: int,
               batch_size: int) -> CodebookHeads:
    return CodebookHeads(nlp, name, encoder=encoder, max_length=max_length,
                         batch_size=batch_size)


class CodebookHeads:
    """Scores every leaf code of a codebook from the frozen encoder's sentence vector."""

    def __init__(self, nlp: Language, name: str = HEADS, *, encoder: str = PACKAGED_ENCODER,
                 max_length: int = 256, batch_size: int = 32) -> None:
        self.name = name
        self.encoder_name = encoder
        self.max_length = max_length
        self.batch_size = batch_size
        self.heads: list[TierHead] = []
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
            from themekit.pipeline import quantize_linear_layers

            quantize_linear_layers(self._encoder.model)

    def set_heads(self, heads: Sequence[TierHead]) -> None:
        self.heads = list(heads)

    def __call__(self, doc: Doc) -> Doc:
        return next(self.pipe([doc]))

    def pipe(self, stream: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        if not self.heads:
            raise ValueError(f"component '{self.name}' has no heads: train them with "
                             "`themekit train --mode heads`, or load a trained model")
        for batch in minibatch(stream, size=batch_size):
            vectors = self.encoder.encode([doc.text for doc in batch])
            for doc, scores in zip(batch, score_vectors(self.heads, vectors)):
                doc.cats.update(scores)
                yield doc

    # ------------------------------------------------------------------ serialization

    def _config(self) -> dict[str, Any]:
        return {"heads": [{"tier": h.tier, "kind": h.kind, "labels": h.labels}
                          for h in self.heads]}

    def _arrays(self) -> dict[str, numpy.ndarray]:
        arrays = {}
        for head in self.heads:
            arrays[f"{head.tier}.weights"] = head.weights
            arrays[f"{head.tier}.bias"] = head.bias
        return arrays

    def _load(self, config: dict[str, Any], arrays: Any) -> None:
        self.heads = [TierHead(h["tier"], h["kind"], list(h["labels"]),
                               numpy.asarray(arrays[f"{h['tier']}.weights"], dtype=numpy.float32),
                               numpy.asarray(arrays[f"{h['tier']}.bias"], dtype=numpy.float32))
                      for h in config["heads"]]

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if "heads" in exclude:
            return
        (path / CONFIG_FILE).write_text(json.dumps(self._config(), indent=2) + "\n",
                                        encoding="utf-8")
        numpy.savez(path / WEIGHTS_FILE, **self._arrays())

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> CodebookHeads:
        path = Path(path)
        if "heads" in exclude:
            return self
        config = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
        with numpy.load(path / WEIGHTS_FILE) as arrays:
            self._load(config, arrays)
        return self

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        import srsly

        return srsly.msgpack_dumps({"config": self._config(), "arrays": {
            k: (v.tolist()) for k, v in self._arrays().items()}})

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> CodebookHeads:
        import srsly

        loaded = srsly.msgpack_loads(data)
        self._load(loaded["config"], loaded["arrays"])
        return self
