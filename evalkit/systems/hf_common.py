"""Loading Hugging Face models and running them fast and safely; shared by hf-seq2seq, hf-causal, ct2.

API
---
``resolve_model(model, revision=None, backend_name="") -> ModelSource``
    a local folder or a hub id; a path that does not exist, or a hub id while the Hub is
    unreachable and the model is not in the local cache, fails fast with a ``BackendError``
    that says how to use a local folder (instead of ~47 s of retries).
``ModelSource.load_kwargs()``
    keyword arguments for every ``from_pretrained`` call (revision, local_files_only).
``ModelSource.identity()``
    what goes into a fingerprint: the hub id and revision, or a digest of the folder's files.
``pick_device(requested=None) -> str``          cuda > mps > cpu, or the one asked for.
``pick_dtype(requested, device) -> torch.dtype`` bf16 (else fp16) on GPU, fp32 on CPU, or the one asked for.
``input_limit(configured, model_config, tokenizer, default=512) -> int``
    the model's input limit in its own tokens: the config's ``max_input_tokens`` if given, else
    the smallest sane of max_position_embeddings / n_positions / tokenizer.model_max_length.
``load_pretrained(system_name, model_class, source, tokenizer_source, options) -> (tokenizer, model, device)``
    tokenizer and model on the configured device and dtype, in eval mode; any loader failure
    (missing files, corrupt weights, a tokenizer that cannot be built) is a ``BackendError``.
``translate_chunked(sources, count_tokens, limit, batch_size, generate, lengths=None) -> list[Translation]``
    each source split to the limit, every piece of every source translated in length-sorted
    batches (longest first: out-of-memory shows at once, padding stays small), re-joined per source
    (``ChunkPlan``: the split, the order and the re-joining, for a backend that decodes itself).
``run_batches(items, batch_size, fn, on_batch=None) -> list``
    ``fn`` over ``items`` in batches; on CUDA out-of-memory the batch is halved and retried.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from evalkit.errors import BackendError

T = TypeVar("T")
R = TypeVar("R")

# Sizes above which a folder's weights are fingerprinted by size and head/tail rather than fully
# hashed: hashing gigabytes on every run would cost more than it protects.
FULL_HASH_LIMIT = 64 * 1024 * 1024
PROBE_TIMEOUT_S = 3.0
LOCAL_HINT = ("download it where there is internet (e.g. `huggingface-cli download {id} --local-dir DIR`), "
              "copy the folder here and set `model: /path/to/folder` in the config")


@dataclass(frozen=True, slots=True)
class ModelSource:
    """Where a model comes from. ``local_only``: load from disk/cache without touching the network."""

    ref: str
    revision: str | None
    is_local: bool
    local_only: bool

    def load_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if not self.is_local and self.revision:
            kwargs["revision"] = self.revision
        if self.local_only:
            kwargs["local_files_only"] = True
        return kwargs

    def identity(self) -> dict[str, Any]:
        if self.is_local:
            return {"folder_sha256": folder_digest(Path(self.ref))}
        return {"hub_id": self.ref, "revision": self.revision or "main"}


def _looks_like_path(model: str) -> bool:
    # Hub ids are "name" or "org/name"; anything else (absolute, relative, deeper) is a folder.
    return model.startswith(("/", ".", "~")) or model.count("/") > 1 or "\\" in model \
        or Path(model).expanduser().exists()


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"} or \
        os.environ.get("TRANSFORMERS_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def hub_reachable(timeout: float = PROBE_TIMEOUT_S) -> bool:
    """A quick TCP probe of the Hub endpoint (``HF_ENDPOINT`` or huggingface.co)."""
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "huggingface.co", port), timeout=timeout):
            return True
    except OSError:
        return False


def _in_local_cache(model: str, revision: str | None) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    found = try_to_load_from_cache(model, "config.json", revision=revision)
    return isinstance(found, str)


def resolve_model(model: str, revision: str | None = None, backend_name: str = "") -> ModelSource:
    """Decide how to load ``model``; fail fast and clearly when it cannot be (see module docstring)."""
    who = f"system {backend_name!r}: " if backend_name else ""
    if not model or not isinstance(model, str):
        raise BackendError(f"{who}'model' is required (a hub id such as Helsinki-NLP/opus-mt-zh-en, or a local folder)")
    path = Path(model).expanduser()
    if _looks_like_path(model):
        if not path.exists():
            raise BackendError(f"{who}model path {model} does not exist (expected a folder with config.json "
                               "and the weights, as saved by save_pretrained)")
        if not path.is_dir() or not (path / "config.json").exists():
            raise BackendError(f"{who}model path {model} is not a model folder: no config.json in it")
        return ModelSource(str(path), revision, is_local=True, local_only=True)
    cached = _in_local_cache(model, revision)
    if hub_offline() or not hub_reachable():
        if cached:
            return ModelSource(model, revision, is_local=False, local_only=True)
        why = "HF_HUB_OFFLINE is set" if hub_offline() else "no connection to the Hub"
        raise BackendError(f"{who}the Hugging Face Hub is unreachable ({why}) and {model} is not in the local "
                           f"cache; " + LOCAL_HINT.format(id=model))
    return ModelSource(model, revision, is_local=False, local_only=False)


def folder_digest(folder: Path) -> str:
    """A digest of a model folder: every file's name and content (head, tail and size for big ones)."""
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        digest.update(str(file.relative_to(folder)).encode())
        size = file.stat().st_size
        digest.update(str(size).encode())
        with file.open("rb") as handle:
            if size <= FULL_HASH_LIMIT:
                digest.update(handle.read())
            else:
                digest.update(handle.read(1 << 20))
                handle.seek(-(1 << 20), os.SEEK_END)
                digest.update(handle.read())
    return digest.hexdigest()


def pick_device(requested: str | None = None) -> str:
    import torch

    if requested and requested != "auto":
        if requested.startswith("cuda") and not torch.cuda.is_available():
            raise BackendError(f"device {requested!r} requested but CUDA is not available")
        return requested
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(requested: str | None, device: str) -> Any:
    import torch

    names = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16, "fp16": torch.float16,
             "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}
    if requested and requested != "auto":
        if requested not in names:
            raise BackendError(f"unknown dtype {requested!r}; use auto, {', '.join(names)}")
        return names[requested]
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


def _sane(value: Any) -> int | None:
    # Tokenizers without a limit report 1e30 (VERY_LARGE_INTEGER); configs sometimes hold 0 or None.
    return int(value) if isinstance(value, int | float) and 0 < value <= 1_000_000 else None


def input_limit(configured: int | None, model_config: Any, tokenizer: Any, default: int = 512) -> int:
    """The input limit in the model's own tokens (see module docstring)."""
    if configured is not None:
        if int(configured) < 8:
            raise BackendError(f"max_input_tokens must be at least 8, got {configured}")
        return int(configured)
    candidates = [_sane(getattr(model_config, name, None)) for name in
                  ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length")]
    candidates.append(_sane(getattr(tokenizer, "model_max_length", None)))
    found = [c for c in candidates if c]
    return min(found) if found else default


def load_pretrained(system_name: str, model_class: Any, source: ModelSource, tokenizer_source: ModelSource,
                    options: dict[str, Any]) -> tuple[Any, Any, str]:
    """Load a tokenizer and a ``model_class`` (an ``AutoModelFor…``) once, ready for inference."""
    from transformers import AutoTokenizer

    device = pick_device(options.get("device"))
    dtype = pick_dtype(options.get("dtype"), device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_source.ref, **tokenizer_source.load_kwargs())
        model = model_class.from_pretrained(source.ref, dtype=dtype, **source.load_kwargs())
    except Exception as exc:  # noqa: BLE001 — transformers raises OSError, ValueError, TypeError,
        # SafetensorError… for an unusable folder; each means the same to the user, and the cause is chained.
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise BackendError(f"system {system_name!r}: cannot load {source.ref}: {type(exc).__name__}: {first}") from exc
    model.to(device).eval()
    return tokenizer, model, device


@dataclass
class ChunkPlan:
    """Sources split to the model's limit, their pieces in length order (longest first): what
    ``translate_chunked`` decodes, cut into batches, and how the pieces re-join per source."""

    pieces: list[str]
    owner: list[int]  # the source each piece comes from
    truncated: list[bool]  # per source
    order: list[int]  # piece indices, longest first

    @classmethod
    def of(cls, sources: Sequence[str], count_tokens: Callable[[str], int], limit: int,
           lengths: Callable[[list[str]], list[int]] | None = None) -> ChunkPlan:
        from evalkit.systems.chunking import chunk_text

        pieces: list[str] = []
        owner: list[int] = []
        truncated = [False] * len(sources)
        for i, source in enumerate(sources):
            chunked = chunk_text(source, count_tokens, limit)
            truncated[i] = chunked.truncated
            pieces.extend(chunked.pieces)
            owner.extend([i] * len(chunked.pieces))
        sizes = (lengths(pieces) if lengths else [len(p) for p in pieces]) if pieces else []
        order = sorted(range(len(pieces)), key=lambda k: sizes[k], reverse=True)
        return cls(pieces, owner, truncated, order)

    def sorted_pieces(self) -> list[str]:
        return [self.pieces[k] for k in self.order]

    def join(self, outputs: Sequence[str]) -> list[Any]:
        """One ``Translation`` per source from the outputs of ``sorted_pieces()``, in that order."""
        from evalkit.systems.base import Translation
        from evalkit.systems.chunking import join_pieces

        by_piece = [""] * len(self.pieces)
        for k, text in zip(self.order, outputs, strict=True):
            by_piece[k] = text
        grouped: list[list[str]] = [[] for _ in self.truncated]
        for k, i in enumerate(self.owner):
            grouped[i].append(by_piece[k])
        return [Translation(join_pieces(g), chunks=len(g), truncated=t)
                for g, t in zip(grouped, self.truncated, strict=True)]


def translate_chunked(sources: Sequence[str], count_tokens: Callable[[str], int], limit: int, batch_size: int,
                      generate: Callable[[Sequence[str]], list[str]],
                      lengths: Callable[[list[str]], list[int]] | None = None) -> list[Any]:
    """Chunk, translate in length-sorted batches, re-join: one ``Translation`` per source, in order."""
    plan = ChunkPlan.of(sources, count_tokens, limit, lengths)
    return plan.join(run_batches(plan.sorted_pieces(), batch_size, generate))


def is_oom(exc: BaseException) -> bool:
    try:
        import torch
    except ImportError:
        return False
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower() and isinstance(exc, RuntimeError)


def run_batches(items: Sequence[T], batch_size: int, fn: Callable[[Sequence[T]], list[R]],
                on_batch: Callable[[int], None] | None = None) -> list[R]:
    """``fn`` over ``items`` in order, ``batch_size`` at a time; CUDA OOM halves the batch and retries."""
    out: list[R] = []
    size = max(1, int(batch_size))
    start = 0
    while start < len(items):
        batch = items[start:start + size]
        try:
            results = fn(batch)
        except Exception as exc:
            if not is_oom(exc):
                raise
            import torch

            torch.cuda.empty_cache()
            if size == 1:
                raise BackendError("GPU out of memory even with a batch of 1; lower max_input_tokens or "
                                   "max_new_tokens, or use a smaller dtype") from exc
            size = max(1, size // 2)
            continue
        out.extend(results)
        start += len(batch)
        if on_batch:
            on_batch(len(batch))
    return out
