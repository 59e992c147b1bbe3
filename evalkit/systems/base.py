"""The one interface every MT backend implements, and the registry of backends.

Backends are registered by name as ``"module:Class"`` strings and imported only when a
config uses them, so torch/transformers/HTTP clients load only for the systems that need them.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evalkit.config import SystemConfig
from evalkit.errors import BackendError, ConfigError

# backend name -> "module:Class". Keep sorted by family; the error for an unknown backend lists these.
BACKENDS: dict[str, str] = {
    "gloss": "evalkit.systems.gloss:GlossTranslator",
    "file": "evalkit.systems.file:FileTranslator",
    "hf-seq2seq": "evalkit.systems.hf_seq2seq:Seq2SeqTranslator",
    "hf-causal": "evalkit.systems.hf_causal:CausalTranslator",
    "openai": "evalkit.systems.openai:OpenAITranslator",
    "ct2": "evalkit.systems.ct2:CT2Translator",
}


@dataclass(frozen=True, slots=True)
class Segment:
    """A source paragraph to translate. ``zh`` may hold several archive lines joined by ``\\n``
    (a ``1-2`` bead); backends that look hypotheses up per line split on it."""

    id: str
    zh: str


@dataclass(frozen=True, slots=True)
class Translation:
    hyp: str
    chunks: int = 1
    truncated: bool = False


class PartialTranslationError(BackendError):
    """A backend failed part-way through a batch. ``done`` maps the positions (in the batch given
    to ``translate``) of the segments it did finish to their translations, so the runner can
    cache them before re-raising: a rerun then resumes instead of paying for them again."""

    def __init__(self, message: str, done: dict[int, Translation]):
        super().__init__(message)
        self.done = done


def fingerprint_of(name: str, settings: dict[str, Any]) -> str:
    """``<name>@<12 hex>``: a hash of every setting that can change the output."""
    canonical = json.dumps(settings, sort_keys=True, ensure_ascii=False, default=str)
    return f"{name}@{hashlib.sha256(canonical.encode('utf-8')).hexdigest()[:12]}"


class Translator(ABC):
    """A loaded MT system: create once, translate many batches, then ``close``.

    Subclasses set ``backend`` and implement ``settings`` (everything that can change the
    output: model, revision, decoding, prompt, chunking policy) and ``translate``.
    """

    backend: str = ""
    # Paragraphs the runner hands to one ``translate`` call (and commits to the cache together).
    batch_size: int = 32
    # Such batches the runner hands to one ``translate_batches`` call (a backend that decodes
    # several at once sets more).
    concurrent_batches: int = 1

    def __init__(self, config: SystemConfig):
        self.config = config
        self.name = config.name

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """Every setting that can change the output; hashed into the fingerprint."""

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.name, {"backend": self.backend, **self.settings()})

    @property
    def cacheable(self) -> bool:
        """Whether outputs go through the translation cache (not for precomputed files)."""
        return True

    @abstractmethod
    def translate(self, segments: Sequence[Segment]) -> list[Translation]:
        """One ``Translation`` per segment, in order."""

    def translate_batches(self, batches: Sequence[Sequence[Segment]]) -> list[list[Translation]]:
        """``translate`` of each batch, in order; the runner calls it with ``concurrent_batches``
        batches at a time when that is more than 1. A backend that decodes several batches at once
        overrides both, with the same translations as one call per batch. (A
        ``PartialTranslationError`` raised here keeps nothing: its indices could name any batch.)"""
        return [self.translate(batch) for batch in batches]

    def close(self) -> None:
        """Release models, sessions and pools."""

    def __enter__(self) -> Translator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def checked_options(config: SystemConfig, known: set[str] | frozenset[str]) -> dict[str, Any]:
    """The system's backend-specific keys, after refusing any the backend does not know (a typo
    such as ``num_beam`` must not silently fall back to a default)."""
    options = config.options()
    unknown = set(options) - set(known)
    if unknown:
        raise ConfigError(f"system {config.name!r} ({config.backend}): unknown option(s) {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(sorted(known))}")
    return options


def create_system(config: SystemConfig) -> Translator:
    """Instantiate the backend a system config names; an unknown name lists the known ones."""
    target = BACKENDS.get(config.backend)
    if target is None:
        known = ", ".join(sorted(BACKENDS))
        raise ConfigError(f"system {config.name!r}: unknown backend {config.backend!r}; known backends: {known}")
    module_name, class_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(config)
