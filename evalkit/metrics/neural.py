"""Neural metrics: COMET, CometKiwi and LaBSE per paragraph; QE of the reference; sentence localisation.

Opt-in through ``scoring.metrics`` (issue 12), each imported only when configured:

* ``comet`` — reference-based COMET (default ``Unbabel/wmt22-comet-da``), unbabel-comet's own
  ``load_from_checkpoint`` (``download_model`` for a hub id) and the model's own
  ``prepare_sample`` / ``predict_step``;
* ``cometkiwi`` — reference-free COMET QE of (Chinese source, hypothesis) (default
  ``Unbabel/wmt22-cometkiwi-da``);
* ``labse`` — cosine similarity of sentence-transformers embeddings of source and hypothesis
  (default ``sentence-transformers/LaBSE``).

Options per metric live under ``scoring.neural.<metric>`` (``model``, ``revision``, ``encoder``,
``batch_size``, ``device``, ``dtype``: ``config.NeuralMetricOptions``).

API
---
``score_reference_qe(pairs, neural=None, *, metrics=QE_METRICS, cache=None, sentences=True) -> list[ReferenceQE]``
    QE of the archive's English against its Chinese — no MT system involved: CometKiwi and/or
    LaBSE of each (zh, reference en) pair, and with LaBSE each sentence's best match on the other
    side (``SentenceLocalisation``). Cached like every neural score.
``iter_reference_qe(path)`` / ``load_reference_qe(path)``
    the ``reference_qe.jsonl`` a run's score stage wrote, as ``ReferenceQE`` records.
``localise_sentences(zh, en, embed) -> SentenceLocalisation``
    the localisation alone, for any embedding function (normalised vectors, one row per text).
``split_sentences(text, lang)``
    the sentence splitter: Chinese after 。！？； (and a closing quote or bracket), English at
    sentence ends (.!? then a space and a capital, not after Mr./Dr./initials…); line breaks always.
``NeuralStage``
    what the score stage does (``evalkit.pipeline.score_stage``): fills the cache model by model
    (``prefill``), adds each metric's column to the scores.jsonl lines (``merge_lines``), writes
    ``reference_qe.jsonl`` and returns the corpus scores with CIs and the paired tests (``finish``).
``preflight(config)``
    checks the packages and resolves every configured model (no loading): ``run`` calls it before
    translating, so a missing package or an unreachable model fails in seconds, not after hours.

What the numbers are
--------------------
A paragraph's score is the model's segment score (COMET's, or the cosine of LaBSE embeddings).
The corpus score is the mean of the segment scores, with a 95% bootstrap interval and paired
bootstrap / approximate randomisation between systems (``metrics.scoring``'s mean-of-segments
path, seeded as the sacrebleu metrics are). Signatures name the model, its revision (the hub
commit, or a digest of the local folder), the fingerprint, the package version, device, dtype and
the splitting policy.

No silent truncation: unbabel-comet and sentence-transformers cut inputs at the model's limit (512
positions for XLM-R) without a word. Here a paragraph whose inputs exceed the limit, counted with the
model's own tokenizer, is split into sentences (then clauses, then at spaces or characters), the
sentences of source, hypothesis and reference are grouped into the fewest aligned groups
(proportionally to their position in each text) that all fit, each group is scored, and the
paragraph's score is the length-weighted mean (weights: characters of the group's texts). LaBSE
embeds each text piece by piece (the normalised length-weighted mean of the pieces' embeddings).
``split`` in scores.jsonl (and reference_qe.jsonl) gives the number of pieces of each metric that
was split.

Speed and cache: inputs deduplicated, sorted by length and batched (``batch_size``; on CUDA
out-of-memory the batch is halved), on the GPU when there is one (``device: auto``) with bf16/fp16
autocast, in ``torch.inference_mode``; each model is loaded once per stage and only if something is
not cached. Scores are cached in SQLite (``neural_cache.ScoreCache``) by (metric fingerprint,
hash of the texts): a rerun reads the very same numbers back and loads no model.

Offline: a hub id with ``HF_HUB_OFFLINE`` set (or no connection, by a 3-second probe) fails at
once, naming the model and how to point ``model:`` at a local folder, unless it is in the local
Hugging Face cache. unbabel-comet 2.2.7 was written for transformers 4: ``_patch_for_transformers5``
adapts a loaded model's encoder (the tuple its ``forward`` unpacked, the tokenizer's
``build_inputs_with_special_tokens``) and ``import_comet`` supplies ``pkg_resources`` where
setuptools no longer ships it (torchmetrics 0.10 imports it).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import re
import sys
import time
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit.errors import EvalkitError
from evalkit.iterables import chunked

if TYPE_CHECKING:
    from evalkit.config import NeuralConfig, NeuralMetricOptions, RunConfig
    from evalkit.metrics.neural_cache import ScoreCache

NEURAL_METRICS: tuple[str, ...] = ("comet", "cometkiwi", "labse")
QE_METRICS: tuple[str, ...] = ("cometkiwi", "labse")  # reference-free: they can judge the reference itself
DEFAULT_MODELS = {"comet": "Unbabel/wmt22-comet-da", "cometkiwi": "Unbabel/wmt22-cometkiwi-da",
                  "labse": "sentence-transformers/LaBSE"}
# metric -> (module to import, distribution name)
PACKAGES = {"comet": ("comet", "unbabel-comet"), "cometkiwi": ("comet", "unbabel-comet"),
            "labse": ("sentence_transformers", "sentence-transformers")}
INSTALL_HINT = "pip install 'evalkit[neural]'"
COMET_INSTALL_HINT = ("pip install 'evalkit[neural]' && pip install --no-deps 'unbabel-comet==2.2.7' "
                      "(its own pins, transformers<5 and numpy<2, conflict with evalkit's)")
REFERENCE_QE_FILE = "reference_qe.jsonl"

# How long inputs are split; part of every fingerprint, so a change re-scores.
ZH_SENTENCE_END = "。！？；"
CLOSERS = "”’」』）》)\"'"
SPLIT_POLICY = {"version": 1, "zh_sentence_end": ZH_SENTENCE_END, "en_sentence_end": ".!?", "closers": CLOSERS,
                "clauses": "，、：,;:", "groups": "proportional", "weights": "characters"}
NEURAL_VERSION = 1
WINDOW = 4096  # items looked up and scored at a time (bounded memory on any corpus)


class NeuralMetricError(EvalkitError):
    """A neural metric cannot run: a package missing, a model missing or unreachable, a bad model."""


# --- records ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NeuralScore:
    """One segment's score; ``pieces`` > 1: its inputs were over the model's limit and split."""

    score: float
    pieces: int = 1

    def to_value(self) -> dict[str, Any]:
        return {"score": self.score, "pieces": self.pieces}

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> NeuralScore:
        return cls(float(value["score"]), int(value.get("pieces", 1)))


@dataclass(frozen=True, slots=True)
class SentenceMatch:
    """A sentence and its best match on the other side (``best``: that sentence's index)."""

    index: int
    text: str
    best: int | None
    similarity: float | None  # cosine of the embeddings; None when the other side has no sentence

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "text": self.text, "best": self.best, "similarity": self.similarity}

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> SentenceMatch:
        sim = obj.get("similarity")
        return cls(int(obj["index"]), str(obj["text"]), obj.get("best"), None if sim is None else float(sim))


@dataclass(frozen=True, slots=True)
class SentenceLocalisation:
    """Per sentence of a (zh, en) pair, the best-matching sentence on the other side (LaBSE).

    An English sentence whose best Chinese match is weak has no counterpart in the source (an
    addition, or a misalignment); a Chinese sentence with a weak best English match was left out."""

    en: tuple[SentenceMatch, ...]
    zh: tuple[SentenceMatch, ...]

    def unmatched_en(self, threshold: float) -> list[SentenceMatch]:
        """English sentences whose best Chinese match is below ``threshold``, weakest first."""
        return _below(self.en, threshold)

    def unmatched_zh(self, threshold: float) -> list[SentenceMatch]:
        """Chinese sentences whose best English match is below ``threshold``, weakest first."""
        return _below(self.zh, threshold)

    def weakest_en(self) -> SentenceMatch | None:
        found = _below(self.en, math.inf)
        return found[0] if found else None

    def to_dict(self) -> dict[str, Any]:
        return {"en": [m.to_dict() for m in self.en], "zh": [m.to_dict() for m in self.zh]}

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> SentenceLocalisation:
        return cls(tuple(SentenceMatch.from_dict(m) for m in obj.get("en", [])),
                   tuple(SentenceMatch.from_dict(m) for m in obj.get("zh", [])))


def _below(matches: Sequence[SentenceMatch], threshold: float) -> list[SentenceMatch]:
    found = [m for m in matches if m.similarity is None or m.similarity < threshold]
    return sorted(found, key=lambda m: (-math.inf if m.similarity is None else m.similarity, m.index))


@dataclass(frozen=True, slots=True)
class ReferenceQE:
    """QE of one reference paragraph: (Chinese, the archive's English), no MT system involved."""

    id: str | None
    scores: dict[str, float]  # metric (cometkiwi, labse) -> score
    split: dict[str, int] = field(default_factory=dict)  # metric -> pieces, for the metrics that were split
    sentences: SentenceLocalisation | None = None  # with labse

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "scores": dict(self.scores), "split": dict(self.split)}
        if self.sentences is not None:
            out["sentences"] = self.sentences.to_dict()
        return out

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> ReferenceQE:
        sentences = obj.get("sentences")
        return cls(obj.get("id"), {k: float(v) for k, v in obj.get("scores", {}).items()},
                   {k: int(v) for k, v in obj.get("split", {}).items()},
                   SentenceLocalisation.from_dict(sentences) if sentences is not None else None)


# --- sentences and splitting --------------------------------------------------------------------

_ZH_SENTENCE = re.compile(rf"[^{ZH_SENTENCE_END}]*[{ZH_SENTENCE_END}]+[{re.escape(CLOSERS)}]*|[^{ZH_SENTENCE_END}]+$")
_EN_BOUNDARY = re.compile(r"(?<=[.!?])([\"”’)\]]*)(\s+)(?=[\"“‘(\[]?[A-Z0-9])")
_EN_ABBREVIATION = re.compile(r"(?:\b[A-Z]|\b(?:Mr|Mrs|Ms|Dr|St|No|Nos|Gen|Col|Lt|Capt|Prof|Vol|vs|etc|Jr|Sr|Co|"
                              r"Corp|Inc|Ltd|Messrs|Mt|Ft|Sen|Rep|Gov|Pres))\.$")
_ZH_CLAUSE = re.compile(r"[^，、：]*[，、：]+|[^，、：]+$")
_EN_CLAUSE = re.compile(r"[^,;:]*[,;:]+(?:\s+|$)|[^,;:]+$")


def split_sentences(text: str, lang: str) -> list[str]:
    """Sentences of ``text`` (``lang``: ``zh`` or ``en``), in order, stripped; line breaks are
    boundaries. Nothing but whitespace between sentences is lost."""
    out: list[str] = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        if lang == "zh":
            out.extend(s.strip() for s in (m.group(0) for m in _ZH_SENTENCE.finditer(line)) if s.strip())
            continue
        start = 0
        for m in _EN_BOUNDARY.finditer(line):
            if _EN_ABBREVIATION.search(line[start:m.start(1)]):
                continue
            out.append(line[start:m.start(2)].strip())
            start = m.end()
        if line[start:].strip():
            out.append(line[start:].strip())
    return [s for s in out if s]


def _join(lang: str, parts: Sequence[str]) -> str:
    return ("" if lang == "zh" else " ").join(p for p in parts if p)


def _clauses(text: str, lang: str) -> list[str]:
    pattern = _ZH_CLAUSE if lang == "zh" else _EN_CLAUSE
    return [m.group(0).strip() for m in pattern.finditer(text) if m.group(0).strip()]


def _hard_split(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Consecutive pieces that each fit: the longest prefix that fits, cut back to its last space."""
    pieces: list[str] = []
    rest = text.strip()
    while rest:
        if fits(rest):
            pieces.append(rest)
            break
        lo, hi = 1, len(rest)
        while lo < hi:  # the longest fitting prefix (a longer prefix never has fewer tokens)
            mid = (lo + hi + 1) // 2
            if fits(rest[:mid]):
                lo = mid
            else:
                hi = mid - 1
        n = lo
        space = rest.rfind(" ", 0, n + 1)
        if space > 0:
            n = space + 1
        pieces.append(rest[:n].strip())
        rest = rest[n:].strip()
    return [p for p in pieces if p]


def text_units(text: str, lang: str, fits: Callable[[str], bool]) -> list[str]:
    """``text`` as units that each fit: sentences, an over-long sentence as clauses, an over-long
    clause cut at spaces (or characters)."""
    units: list[str] = []
    for sentence in split_sentences(text, lang):
        if fits(sentence):
            units.append(sentence)
            continue
        for clause in _clauses(sentence, lang):
            units.extend([clause] if fits(clause) else _hard_split(clause, fits))
    return units


def pack_units(units: Sequence[str], lang: str, fits: Callable[[str], bool]) -> list[str]:
    """Consecutive units packed greedily into the fewest pieces that fit."""
    pieces: list[str] = []
    current = ""
    for unit in units:
        candidate = _join(lang, [current, unit])
        if not current or fits(candidate):
            current = candidate
        else:
            pieces.append(current)
            current = unit
    if current:
        pieces.append(current)
    return pieces


def _proportional_groups(units: Sequence[Sequence[str]], langs: Sequence[str], k: int) -> list[tuple[str, ...]]:
    """Each text's units put into ``k`` groups by the middle of each unit's position in its text;
    groups empty on every side are dropped."""
    groups: list[list[list[str]]] = [[[] for _ in units] for _ in range(k)]
    for t, text_units_ in enumerate(units):
        total = sum(len(u) for u in text_units_) or 1
        seen = 0
        for unit in text_units_:
            middle = (seen + len(unit) / 2) / total
            seen += len(unit)
            groups[min(k - 1, int(middle * k))][t].append(unit)
    return [tuple(_join(lang, parts) for lang, parts in zip(langs, g, strict=True)) for g in groups if any(g)]


def aligned_groups(texts: Sequence[str], langs: Sequence[str], unit_fits: Sequence[Callable[[str], bool]],
                   group_fits: Callable[[tuple[str, ...]], bool]) -> list[tuple[str, ...]]:
    """The texts of one segment as the fewest aligned groups (one text per input in each) that all
    fit: the whole when it fits, else each text's ``text_units`` grouped proportionally into
    k = 2, 3, … groups. Once k reaches the longest text's length in characters, every group holds
    at most one unit of each text, which fits by construction, so the search ends."""
    whole = tuple(texts)
    if group_fits(whole):
        return [whole]
    units = [text_units(t, lang, fits) for t, lang, fits in zip(texts, langs, unit_fits, strict=True)]
    longest = max(sum(len(u) for u in us) for us in units)
    k = 2
    while True:
        groups = _proportional_groups(units, langs, k)
        if all(group_fits(g) for g in groups) or k >= longest:
            return groups
        k = k + 1 if k < 64 else min(longest, math.ceil(k * 1.25))


def _weight(texts: Sequence[str]) -> int:
    return max(1, sum(len(t) for t in texts))


# --- packages and models ------------------------------------------------------------------------


def neural_metrics(names: Iterable[str]) -> list[str]:
    """The neural metrics among ``names``, in ``NEURAL_METRICS`` order."""
    wanted = set(names)
    return [m for m in NEURAL_METRICS if m in wanted]


def check_packages(metrics: Iterable[str]) -> None:
    """Fail with the install command when a configured metric's package is missing (no import)."""
    for metric in metrics:
        module, dist = PACKAGES[metric]
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            hint = COMET_INSTALL_HINT if module == "comet" else INSTALL_HINT
            raise NeuralMetricError(f"scoring.metrics names {metric}, which needs the {dist} package; install the "
                                    f"neural extra: {hint}")


@contextmanager
def _pkg_resources_available() -> Iterator[None]:
    """A minimal ``pkg_resources`` while comet is imported and loads a model, where setuptools
    (>= 81) no longer ships it: torchmetrics 0.10 (pinned by unbabel-comet 2.2.7) imports
    ``get_distribution`` / ``DistributionNotFound`` from it, and comet's ``load_from_checkpoint``
    compares its own version with ``parse_version``. Removed again afterwards."""
    try:
        present = importlib.util.find_spec("pkg_resources") is not None
    except (ImportError, ValueError):
        present = False
    if present or "pkg_resources" in sys.modules:
        yield
        return
    import importlib.metadata as metadata

    from packaging.version import Version

    shim = types.ModuleType("pkg_resources")

    class DistributionNotFound(Exception):
        pass

    class _Distribution:
        def __init__(self, name: str):
            try:
                self.version = metadata.version(name)
            except metadata.PackageNotFoundError:
                raise DistributionNotFound(name) from None

    shim.DistributionNotFound = DistributionNotFound  # type: ignore[attr-defined]
    shim.get_distribution = _Distribution  # type: ignore[attr-defined]
    shim.parse_version = Version  # type: ignore[attr-defined]
    sys.modules["pkg_resources"] = shim
    try:
        yield
    finally:
        if sys.modules.get("pkg_resources") is shim:
            del sys.modules["pkg_resources"]


def import_comet() -> Any:
    """``import comet`` (unbabel-comet), or a ``NeuralMetricError`` with the install command."""
    check_packages(["comet"])
    with _pkg_resources_available():
        try:
            import comet
        except ImportError as exc:
            raise NeuralMetricError(f"unbabel-comet is installed but cannot be imported ({exc}); "
                                    f"{COMET_INSTALL_HINT}") from exc
    return comet


def _package_version(dist: str) -> str:
    import importlib.metadata as metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def _looks_like_path(model: str) -> bool:
    # As evalkit.systems.hf_common: hub ids are "name" or "org/name"; anything else is a path.
    return model.startswith(("/", ".", "~")) or model.count("/") > 1 or "\\" in model or Path(model).expanduser().exists()


def _cached_file(repo: str, filename: str, revision: str | None) -> str | None:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(repo, filename, revision=revision)
    return found if isinstance(found, str) else None


def _offline_hint(metric: str, model: str, key: str = "model") -> str:
    return (f"download it where there is internet (e.g. `huggingface-cli download {model} --local-dir DIR`), copy the "
            f"folder here and set `{key}: /path/to/folder` under scoring.neural.{metric} in the config")


class _Online:
    """Whether the Hub can be used, decided once (HF_HUB_OFFLINE, else a quick TCP probe)."""

    def __init__(self) -> None:
        self._why: str | None = None
        self._known = False

    def why_not(self) -> str | None:
        """None when the Hub is reachable, else why not."""
        if not self._known:
            from evalkit.systems.hf_common import hub_offline, hub_reachable

            if hub_offline():
                self._why = "HF_HUB_OFFLINE is set"
            elif not hub_reachable():
                self._why = "no connection to the Hub"
            self._known = True
        return self._why


@dataclass(frozen=True)
class ModelRef:
    """Where a metric's model is on disk, and what identifies it (for fingerprints and signatures)."""

    metric: str
    name: str  # as configured: a hub id or a path
    folder: Path  # the local folder loaded (a hub id's snapshot in the HF cache)
    hub_id: str | None
    revision: str | None  # a hub id's commit (the snapshot folder's name)
    local_only: bool  # load without touching the network
    checkpoint: Path | None = None  # COMET: checkpoints/model.ckpt
    encoder: str | None = None  # COMET: the encoder the network is built on
    encoder_override: bool = False  # from the config's ``encoder`` (else the checkpoint's own)

    def identity(self) -> dict[str, Any]:
        from evalkit.systems.hf_common import folder_digest

        if self.hub_id is not None:
            out: dict[str, Any] = {"hub_id": self.hub_id, "revision": self.revision}
        else:
            out = {"folder_sha256": folder_digest(self.folder)}
        if self.encoder is not None:
            out["encoder"] = self.encoder if not _looks_like_path(self.encoder) else {
                "folder_sha256": folder_digest(Path(self.encoder).expanduser())}
        return out

    def revision_label(self, identity: Mapping[str, Any]) -> str:
        if self.hub_id is not None:
            return (self.revision or "unknown")[:12]
        return "folder-" + str(identity["folder_sha256"])[:12]


def _resolve_comet(metric: str, options: NeuralMetricOptions, online: _Online) -> ModelRef:
    import yaml

    name = options.model or DEFAULT_MODELS[metric]
    layout = "unbabel-comet's layout: a folder with checkpoints/model.ckpt and hparams.yaml"
    if _looks_like_path(name):
        path = Path(name).expanduser()
        if not path.exists():
            raise NeuralMetricError(f"{metric}: model path {name} does not exist (expected {layout})")
        checkpoint = path if path.is_file() else path / "checkpoints" / "model.ckpt"
        if not checkpoint.is_file() or not (checkpoint.parents[1] / "hparams.yaml").is_file():
            raise NeuralMetricError(f"{metric}: {name} is not a COMET model (expected {layout})")
        folder, hub_id, revision = checkpoint.parents[1], None, None
    else:
        hub_id = name
        why = online.why_not()
        if why is not None:
            cached = _cached_file(name, "checkpoints/model.ckpt", options.revision)
            if cached is None:
                raise NeuralMetricError(f"{metric}: the Hugging Face Hub is unreachable ({why}) and {name} is not in "
                                        "the local cache; " + _offline_hint(metric, name))
            checkpoint = Path(cached)
        else:
            comet = import_comet()
            try:
                if options.revision:
                    from huggingface_hub import snapshot_download

                    checkpoint = Path(snapshot_download(repo_id=name, revision=options.revision)) / "checkpoints" / "model.ckpt"
                else:
                    checkpoint = Path(comet.download_model(name))
            except Exception as exc:  # noqa: BLE001 — hub errors, KeyError for an unknown model…
                raise NeuralMetricError(f"{metric}: cannot download {name}: {type(exc).__name__}: {exc}") from exc
        folder = checkpoint.parents[1]
        revision = folder.name
    try:
        hparams = yaml.safe_load((folder / "hparams.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise NeuralMetricError(f"{metric}: cannot read {folder / 'hparams.yaml'}: {exc}") from None
    encoder = options.encoder or hparams.get("pretrained_model")
    if not isinstance(encoder, str) or not encoder:
        raise NeuralMetricError(f"{metric}: {folder / 'hparams.yaml'} names no pretrained_model; set `encoder:` "
                                f"under scoring.neural.{metric}")
    local_only = online.why_not() is not None if hub_id is not None or not _looks_like_path(encoder) else True
    if _looks_like_path(encoder):
        enc_path = Path(encoder).expanduser()
        if not (enc_path / "config.json").is_file():
            raise NeuralMetricError(f"{metric}: encoder {encoder} is not a model folder (no config.json in it); it "
                                    "must hold the encoder's config and tokenizer, as saved by save_pretrained")
    else:
        why = online.why_not()
        if why is not None and _cached_file(encoder, "config.json", None) is None:
            raise NeuralMetricError(
                f"{metric}: the Hugging Face Hub is unreachable ({why}) and the encoder {encoder} that {name} is built "
                f"on (its tokenizer and config) is not in the local cache; " + _offline_hint(metric, encoder, "encoder"))
    return ModelRef(metric, name, folder, hub_id, revision, local_only, checkpoint, encoder, options.encoder is not None)


_ST_IGNORE = ["*.h5", "*.onnx", "*.msgpack", "*.ot", "*.tflite", "onnx/*", "openvino/*", "*tf_model*",
              "*flax_model*", "rust_model*"]


def _resolve_sentence_transformer(metric: str, options: NeuralMetricOptions, online: _Online) -> ModelRef:
    name = options.model or DEFAULT_MODELS[metric]
    if _looks_like_path(name):
        folder = Path(name).expanduser()
        if not folder.is_dir():
            raise NeuralMetricError(f"{metric}: model path {name} does not exist (expected a sentence-transformers "
                                    "folder, as saved by SentenceTransformer.save)")
        if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
            raise NeuralMetricError(f"{metric}: {name} is not a sentence-transformers model (no modules.json or "
                                    "config.json in it)")
        return ModelRef(metric, name, folder, None, None, True)
    why = online.why_not()
    if why is not None:
        cached = _cached_file(name, "modules.json", options.revision) or _cached_file(name, "config.json", options.revision)
        if cached is None:
            raise NeuralMetricError(f"{metric}: the Hugging Face Hub is unreachable ({why}) and {name} is not in the "
                                    "local cache; " + _offline_hint(metric, name))
        folder = Path(cached).parent
    else:
        from huggingface_hub import snapshot_download

        try:
            folder = Path(snapshot_download(repo_id=name, revision=options.revision, ignore_patterns=_ST_IGNORE))
        except Exception as exc:  # noqa: BLE001
            raise NeuralMetricError(f"{metric}: cannot download {name}: {type(exc).__name__}: {exc}") from exc
    return ModelRef(metric, name, folder, name, folder.name, True)


def metric_options(neural: NeuralConfig | None, metric: str) -> NeuralMetricOptions:
    from evalkit.config import NeuralConfig

    return getattr(neural or NeuralConfig(), metric)


# --- scorers ------------------------------------------------------------------------------------


def _device_and_dtype(options: NeuralMetricOptions) -> tuple[str, Any]:
    from evalkit.systems.hf_common import pick_device, pick_dtype

    try:
        device = pick_device(options.device)
        return device, pick_dtype(options.dtype, device)
    except EvalkitError as exc:
        raise NeuralMetricError(str(exc)) from None


def _to_device(obj: Any, device: str) -> Any:
    """Tensors in a COMET model input (a dict, or a tuple of dicts) moved to ``device``."""
    import torch

    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, Mapping):
        return {k: _to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, tuple | list):
        return type(obj)(_to_device(v, device) for v in obj)
    return obj


def _progress_bar(progress: bool | None, total: int, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="seg", leave=False, disable=None if progress is None else not progress)


class Scorer:
    """One neural metric with its model (loaded on first use): inputs, fingerprint, signature, scores."""

    package = ""

    def __init__(self, metric: str, options: NeuralMetricOptions, ref: ModelRef, progress: bool | None = None):
        self.metric = metric
        self.options = options
        self.ref = ref
        self.progress = progress
        self.device, self._dtype = _device_and_dtype(options)
        self.dtype = str(self._dtype).removeprefix("torch.")
        identity = ref.identity()
        self.identity = identity
        described = {"metric": metric, "model": identity, "package": f"{self.package}=={_package_version(self.package)}",
                     "device": self.device.split(":")[0], "dtype": self.dtype, "split": SPLIT_POLICY,
                     "version": NEURAL_VERSION}
        digest = hashlib.sha256(json.dumps(described, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        self.fingerprint = f"{metric}@{digest[:12]}"
        self.signature = (f"{metric}|model:{ref.name}|rev:{ref.revision_label(identity)}|fp:{digest[:12]}|"
                          f"{self.package}:{_package_version(self.package)}|device:{self.device.split(':')[0]}|"
                          f"dtype:{self.dtype}|split:sentences-v{SPLIT_POLICY['version']}|agg:mean-of-segments")
        self.model: Any = None
        self.computed = 0

    def describe(self) -> dict[str, Any]:
        return {"model": self.ref.name, "identity": self.identity, "fingerprint": self.fingerprint,
                "signature": self.signature, "device": self.device, "dtype": self.dtype,
                "batch_size": self.options.batch_size}

    # Inputs of one score, in cache-key order.
    def inputs(self, src: str, mt: str, ref: str) -> tuple[str, ...]:
        return (src, mt)

    def load(self) -> None:
        raise NotImplementedError

    def unload(self) -> None:
        if self.model is None:
            return
        self.model = None
        import gc

        gc.collect()
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()

    @contextmanager
    def _inference(self) -> Iterator[None]:
        import torch

        with torch.inference_mode():
            if self._dtype != torch.float32:
                with torch.autocast(device_type=self.device.split(":")[0], dtype=self._dtype):
                    yield
            else:
                yield

    def score(self, items: Sequence[tuple[str, ...]]) -> list[NeuralScore]:
        raise NotImplementedError


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence the INFO chatter and warnings of comet / Lightning / sentence-transformers loading."""
    import logging
    import warnings

    loggers = [logging.getLogger(n) for n in ("comet", "pytorch_lightning", "lightning", "lightning.pytorch",
                                               "sentence_transformers", "transformers")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _patch_for_transformers5(model: Any) -> None:
    """Adapt a loaded COMET model's encoder to transformers 5 (unbabel-comet 2.2.7 targets 4.x).

    * ``forward`` unpacked ``self.model(..., return_dict=False)`` as (last hidden states, pooler
      output, all layers); transformers 5 leaves the absent pooler (``add_pooling_layer=False``) out
      of the tuple. The same outputs are taken by name here.
    * ``concat_sequences`` (CometKiwi and other unified models) calls the tokenizer's
      ``build_inputs_with_special_tokens``, which transformers 5 removed; it is given back with
      the 4.x behaviour (``<s> A </s></s> B </s>`` for XLM-R, ``[CLS] A [SEP] B [SEP]`` for BERT).
    """
    import transformers

    if int(transformers.__version__.split(".")[0]) < 5:
        return
    from comet.encoders.xlmr import XLMREncoder

    encoder = model.encoder
    cls_pooled = isinstance(encoder, XLMREncoder)  # XLM-R family: the CLS state; BERT: the pooler output

    def forward(self: Any, input_ids: Any, attention_mask: Any, token_type_ids: Any = None, **_: Any) -> dict[str, Any]:
        extra = {} if cls_pooled else {"token_type_ids": token_type_ids}
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True,
                         return_dict=True, **extra)
        last = out.last_hidden_state
        return {"sentemb": last[:, 0, :] if cls_pooled else out.pooler_output, "wordemb": last,
                "all_layers": out.hidden_states, "attention_mask": attention_mask}

    encoder.forward = types.MethodType(forward, encoder)
    tokenizer = encoder.tokenizer
    if not hasattr(tokenizer, "build_inputs_with_special_tokens"):
        separators = int(encoder.size_separator)

        def build_inputs_with_special_tokens(ids_0: list[int], ids_1: list[int] | None = None) -> list[int]:
            cls, sep = [tokenizer.cls_token_id], [tokenizer.sep_token_id]
            if ids_1 is None:
                return cls + list(ids_0) + sep
            return cls + list(ids_0) + sep * separators + list(ids_1) + sep

        tokenizer.build_inputs_with_special_tokens = build_inputs_with_special_tokens


def _load_comet_model(ref: ModelRef) -> Any:
    """unbabel-comet's ``load_from_checkpoint``; with an ``encoder`` override, the same steps with
    ``pretrained_model`` replaced (Lightning's keyword override of a checkpoint's hparams)."""
    comet = import_comet()
    import torch

    with _pkg_resources_available(), _quiet():
        if not ref.encoder_override:
            return comet.load_from_checkpoint(str(ref.checkpoint), local_files_only=ref.local_only)
        import yaml
        from comet.models import str2model

        hparams = yaml.safe_load((ref.folder / "hparams.yaml").read_text(encoding="utf-8")) or {}
        kwargs: dict[str, Any] = {}
        if hparams.get("layer_transformation") == "sparsemax_patch":  # as load_from_checkpoint (comet issue 244)
            kwargs["layer_transformation"] = "softmax"
        return str2model[hparams["class_identifier"]].load_from_checkpoint(
            checkpoint_path=ref.checkpoint, load_pretrained_weights=False, hparams_file=None,
            map_location=torch.device("cpu"), strict=False, local_files_only=ref.local_only,
            pretrained_model=str(Path(ref.encoder).expanduser()) if _looks_like_path(ref.encoder or "") else ref.encoder,
            **kwargs)


class CometScorer(Scorer):
    """``comet`` (src, mt, ref) or ``cometkiwi`` (src, mt) with an unbabel-comet checkpoint."""

    package = "unbabel-comet"
    LANGS = {"src": "zh", "mt": "en", "ref": "en"}

    def __init__(self, metric: str, options: NeuralMetricOptions, ref: ModelRef, progress: bool | None = None):
        super().__init__(metric, options, ref, progress)
        self.roles = ("src", "mt", "ref") if metric == "comet" else ("src", "mt")
        self._counts: dict[str, int] = {}

    def inputs(self, src: str, mt: str, ref: str) -> tuple[str, ...]:
        return (src, mt, ref) if self.metric == "comet" else (src, mt)

    def load(self) -> None:
        if self.model is not None:
            return
        try:
            model = _load_comet_model(self.ref)
        except EvalkitError:
            raise
        except Exception as exc:  # noqa: BLE001 — torch, Lightning, transformers: each means an unusable model
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise NeuralMetricError(f"{self.metric}: cannot load {self.ref.name}: {type(exc).__name__}: {first}") from exc
        _patch_for_transformers5(model)
        uses_ref = bool(model.requires_references())
        if self.metric == "comet" and not uses_ref:
            raise NeuralMetricError(f"comet: {self.ref.name} is a reference-free (QE) model; configure it as cometkiwi")
        if self.metric == "cometkiwi" and uses_ref:
            raise NeuralMetricError(f"cometkiwi: {self.ref.name} needs references; configure it as comet")
        model.eval()
        model.to(self.device)
        hparams = model.hparams
        self.joint = hparams.get("class_identifier") in ("unified_metric", "xcomet_metric")
        if self.joint:
            self.used = tuple(s for s in hparams.get("input_segments", ("mt", "src")) if s in self.roles)
        else:
            self.used = self.roles
        encoder = model.encoder
        self.max_positions = int(encoder.max_positions)
        self.separator = int(encoder.size_separator)
        self.tokenizer = encoder.tokenizer
        self.model = model

    def _count(self, text: str) -> int:
        n = self._counts.get(text)
        if n is None:
            n = self._counts[text] = len(self.tokenizer(text, add_special_tokens=True, truncation=False,
                                                        verbose=False)["input_ids"])
        return n

    def _text_limit(self) -> int:
        return self.max_positions - 2  # prepare_sample's max_length (special tokens included)

    def _joint_budget(self, n_segments: int) -> int:
        return self.max_positions - (1 + n_segments * self.separator)  # concat_sequences' limit

    def _group_fits(self, group: tuple[str, ...]) -> bool:
        counts = [self._count(t) for role, t in zip(self.roles, group, strict=True) if role in self.used]
        if any(c > self._text_limit() for c in counts):
            return False
        return not self.joint or sum(c - 2 for c in counts) <= self._joint_budget(len(counts))

    def _unit_fits(self, role: str) -> Callable[[str], bool]:
        if role not in self.used:
            return lambda text: True
        if self.joint:
            share = self._joint_budget(len(self.used)) // len(self.used)
            return lambda text: self._count(text) - 2 <= share
        return lambda text: self._count(text) <= self._text_limit()

    def _predict(self, samples: Sequence[dict[str, str]]) -> list[float]:
        batch = _to_device(self.model.prepare_for_inference(list(samples)), self.device)
        with self._inference():
            prediction = self.model.predict_step(batch)
        return [float(x) for x in prediction["scores"].float().cpu().tolist()]

    def score(self, items: Sequence[tuple[str, ...]]) -> list[NeuralScore]:
        from evalkit.systems.hf_common import run_batches

        self.load()
        langs = [self.LANGS[r] for r in self.roles]
        unit_fits = [self._unit_fits(r) for r in self.roles]
        plans = [aligned_groups(item, langs, unit_fits, self._group_fits) for item in items]
        self._counts.clear()
        pieces = [(i, g) for i, groups in enumerate(plans) for g in groups]
        order = sorted(range(len(pieces)), key=lambda k: -_weight(pieces[k][1]))  # longest first: OOM shows at once
        samples = [dict(zip(self.roles, pieces[k][1], strict=True)) for k in order]
        with _progress_bar(self.progress, len(samples), f"{self.metric} ({self.ref.name})") as bar:
            outputs = run_batches(samples, self.options.batch_size, self._predict, on_batch=bar.update)
        by_piece = [0.0] * len(pieces)
        for k, value in zip(order, outputs, strict=True):
            by_piece[k] = value
        results = []
        start = 0
        for plan in plans:  # pieces are in plan order
            values = by_piece[start:start + len(plan)]
            start += len(plan)
            if len(plan) == 1:
                results.append(NeuralScore(values[0], 1))  # the model's own score, untouched
            else:
                weights = [_weight(g) for g in plan]
                results.append(NeuralScore(sum(w * v for w, v in zip(weights, values, strict=True)) / sum(weights),
                                           len(plan)))
        self.computed += len(items)
        return results


class LabseScorer(Scorer):
    """``labse``: cosine similarity of sentence-transformers embeddings of source and hypothesis."""

    package = "sentence-transformers"

    def __init__(self, metric: str, options: NeuralMetricOptions, ref: ModelRef, progress: bool | None = None):
        super().__init__(metric, options, ref, progress)
        self._counts: dict[str, int] = {}

    def load(self) -> None:
        if self.model is not None:
            return
        check_packages([self.metric])
        try:
            with _quiet():
                from sentence_transformers import SentenceTransformer

                model = SentenceTransformer(str(self.ref.folder), device=self.device, local_files_only=True)
        except Exception as exc:  # noqa: BLE001
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise NeuralMetricError(f"{self.metric}: cannot load {self.ref.name}: {type(exc).__name__}: {first}") from exc
        model.eval()
        self.limit = int(model.max_seq_length)
        self.tokenizer = model.tokenizer
        self.model = model

    def _fits(self, text: str) -> bool:
        n = self._counts.get(text)
        if n is None:
            n = self._counts[text] = len(self.tokenizer(text, add_special_tokens=True, truncation=False,
                                                        verbose=False)["input_ids"])
        return n <= self.limit

    def _encode(self, texts: Sequence[str]) -> list[Any]:
        import numpy as np

        with self._inference():
            vectors = self.model.encode(list(texts), batch_size=len(texts), convert_to_numpy=True,
                                        normalize_embeddings=True, show_progress_bar=False)
        vectors = vectors.astype(np.float64)
        # Normalised again in float64: under bf16/fp16 the model's own normalisation leaves norms
        # off by ~1e-3, and cosines above 1.
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return list(vectors / np.where(norms > 0, norms, 1.0))

    def embed(self, texts: Sequence[str], langs: Sequence[str]) -> tuple[Any, list[int]]:
        """Normalised embeddings of ``texts`` (one row each) and the pieces each took: a text over
        the limit is embedded piece by piece (sentences packed to fit) and its embedding is the
        normalised character-weighted mean of the pieces'."""
        import numpy as np

        from evalkit.systems.hf_common import run_batches

        self.load()
        plans: list[list[str]] = []
        for text, lang in zip(texts, langs, strict=True):
            plans.append([text] if self._fits(text) else pack_units(text_units(text, lang, self._fits), lang, self._fits) or [""])
        self._counts.clear()
        unique = list(dict.fromkeys(p for plan in plans for p in plan))
        order = sorted(range(len(unique)), key=lambda k: -len(unique[k]))
        with _progress_bar(self.progress, len(unique), f"{self.metric} ({self.ref.name})") as bar:
            outputs = run_batches([unique[k] for k in order], self.options.batch_size, self._encode, on_batch=bar.update)
        vectors = {unique[k]: v for k, v in zip(order, outputs, strict=True)}
        rows = []
        for plan in plans:
            if len(plan) == 1:
                rows.append(vectors[plan[0]])
                continue
            mean = sum(len(p) * vectors[p] for p in plan)
            norm = float(np.linalg.norm(mean))
            rows.append(mean / norm if norm > 0 else mean)
        dim = len(rows[0]) if rows else 0
        return (np.vstack(rows) if rows else np.zeros((0, dim))), [len(p) for p in plans]

    def score(self, items: Sequence[tuple[str, ...]]) -> list[NeuralScore]:
        texts = list(dict.fromkeys(t for item in items for t in item))
        lang_of: dict[str, str] = {}
        for src, mt in items:
            lang_of.setdefault(src, "zh")
            lang_of.setdefault(mt, "en")
        matrix, pieces = self.embed(texts, [lang_of[t] for t in texts])
        row = {t: i for i, t in enumerate(texts)}
        self.computed += len(items)
        return [NeuralScore(float(matrix[row[src]] @ matrix[row[mt]]), max(pieces[row[src]], pieces[row[mt]]))
                for src, mt in items]

    def localise(self, pairs: Sequence[tuple[str, str]]) -> list[SentenceLocalisation]:
        """``localise_sentences`` of each (zh, en) pair, all sentences embedded in one pass."""
        split = [(split_sentences(zh, "zh"), split_sentences(en, "en")) for zh, en in pairs]
        texts: dict[tuple[str, str], int] = {}
        for zh_s, en_s in split:
            for s in zh_s:
                texts.setdefault(("zh", s), len(texts))
            for s in en_s:
                texts.setdefault(("en", s), len(texts))
        keys = list(texts)
        matrix, _ = self.embed([t for _, t in keys], [lang for lang, _ in keys]) if keys else (None, [])
        out = []
        for zh_s, en_s in split:
            rows_zh = [matrix[texts[("zh", s)]] for s in zh_s]
            rows_en = [matrix[texts[("en", s)]] for s in en_s]
            out.append(_localise(zh_s, en_s, rows_zh, rows_en))
        return out


def _localise(zh_s: Sequence[str], en_s: Sequence[str], rows_zh: Sequence[Any], rows_en: Sequence[Any]) -> SentenceLocalisation:
    import numpy as np

    if zh_s and en_s:
        sims = np.vstack(rows_en) @ np.vstack(rows_zh).T  # en × zh
    else:
        sims = np.zeros((len(en_s), len(zh_s)))

    def matches(sentences: Sequence[str], table: Any) -> tuple[SentenceMatch, ...]:
        found = []
        for i, s in enumerate(sentences):
            if table.shape[1] == 0:
                found.append(SentenceMatch(i, s, None, None))
            else:
                j = int(np.argmax(table[i]))
                found.append(SentenceMatch(i, s, j, float(table[i, j])))
        return tuple(found)

    return SentenceLocalisation(en=matches(en_s, sims), zh=matches(zh_s, sims.T))


def localise_sentences(zh: str, en: str, embed: Callable[[list[str]], Any]) -> SentenceLocalisation:
    """For each English sentence its best-matching Chinese sentence and their cosine similarity,
    and the converse. ``embed`` maps texts to normalised vectors (rows)."""
    zh_s, en_s = split_sentences(zh, "zh"), split_sentences(en, "en")
    vectors = list(embed([*zh_s, *en_s])) if zh_s or en_s else []
    return _localise(zh_s, en_s, vectors[:len(zh_s)], vectors[len(zh_s):])


def make_scorer(metric: str, neural: NeuralConfig | None = None, *, progress: bool | None = None,
                online: _Online | None = None) -> Scorer:
    """The scorer of ``metric`` with its configured model resolved (not loaded)."""
    check_packages([metric])
    options = metric_options(neural, metric)
    online = online or _Online()
    if metric in ("comet", "cometkiwi"):
        return CometScorer(metric, options, _resolve_comet(metric, options, online), progress)
    if metric == "labse":
        return LabseScorer(metric, options, _resolve_sentence_transformer(metric, options, online), progress)
    raise ValueError(f"unknown neural metric {metric!r}; known: {', '.join(NEURAL_METRICS)}")


# --- cache-backed scoring -----------------------------------------------------------------------


def cached_scores(scorer: Scorer, cache: ScoreCache, items: Sequence[tuple[str, ...]],
                  counts: dict[str, int] | None = None) -> list[NeuralScore]:
    """Each item's score: from the cache, else computed (model loaded on first need) and stored."""
    from evalkit.metrics.neural_cache import texts_key

    keys = [texts_key(item) for item in items]
    found = cache.get_many(scorer.fingerprint, keys)
    missing: dict[str, tuple[str, ...]] = {}
    for key, item in zip(keys, items, strict=True):
        if key not in found and key not in missing:
            missing[key] = item
    if missing:
        results = scorer.score(list(missing.values()))
        values = [(k, r.to_value()) for k, r in zip(missing, results, strict=True)]
        cache.put_many(scorer.fingerprint, values)
        found.update(values)
    if counts is not None:
        counts["computed"] = counts.get("computed", 0) + len(missing)
        counts["cached"] = counts.get("cached", 0) + len(items) - len(missing)
    return [NeuralScore.from_value(found[k]) for k in keys]


def cached_localisations(scorer: LabseScorer, cache: ScoreCache, pairs: Sequence[tuple[str, str]],
                         counts: dict[str, int] | None = None) -> list[SentenceLocalisation]:
    from evalkit.metrics.neural_cache import texts_key

    fingerprint = scorer.fingerprint + "/sentences"
    keys = [texts_key(p) for p in pairs]
    found = cache.get_many(fingerprint, keys)
    missing: dict[str, tuple[str, str]] = {}
    for key, pair in zip(keys, pairs, strict=True):
        if key not in found and key not in missing:
            missing[key] = pair
    if missing:
        values = [(k, loc.to_dict()) for k, loc in zip(missing, scorer.localise(list(missing.values())), strict=True)]
        cache.put_many(fingerprint, values)
        found.update(values)
    if counts is not None:
        counts["computed"] = counts.get("computed", 0) + len(missing)
        counts["cached"] = counts.get("cached", 0) + len(pairs) - len(missing)
    return [SentenceLocalisation.from_dict(found[k]) for k in keys]


def _open_cache(cache: ScoreCache | str | Path | None, neural: NeuralConfig | None,
                translation_cache: str | None = None) -> tuple[ScoreCache, bool]:
    from evalkit.metrics.neural_cache import ScoreCache, default_cache_path

    if isinstance(cache, ScoreCache):
        return cache, False
    path = Path(cache) if cache is not None else default_cache_path(neural.cache if neural else None, translation_cache)
    return ScoreCache(path), True


# --- reference QE (the judge's entry point) -------------------------------------------------------


def score_reference_qe(pairs: Sequence[tuple[str, str]], neural: NeuralConfig | None = None, *,
                       metrics: Sequence[str] = QE_METRICS, cache: ScoreCache | str | Path | None = None,
                       sentences: bool = True, ids: Sequence[str] | None = None,
                       progress: bool | None = None) -> list[ReferenceQE]:
    """QE of reference paragraphs: ``pairs`` of (Chinese, the archive's English).

    ``metrics``: reference-free metrics among ``QE_METRICS`` (each with its ``neural`` options,
    default models otherwise); ``sentences`` (with labse): each sentence's best match on the other
    side. ``cache``: a ``ScoreCache``, a file, or None for the default cache file (``EVALKIT_CACHE``
    …). Returns one ``ReferenceQE`` per pair, in order (``id`` from ``ids``). Models are loaded only
    for what is not cached, one at a time."""
    unknown = [m for m in metrics if m not in QE_METRICS]
    if unknown:
        raise ValueError(f"reference QE needs reference-free metrics ({', '.join(QE_METRICS)}), not {', '.join(unknown)}")
    store, owned = _open_cache(cache, neural)
    online = _Online()
    scorers = [make_scorer(m, neural, progress=progress, online=online) for m in neural_metrics(metrics)]
    try:
        records: list[ReferenceQE] = []
        for start in range(0, len(pairs), WINDOW):
            window = list(pairs[start:start + WINDOW])
            records.extend(_reference_records(scorers, store, window, ids[start:start + WINDOW] if ids is not None else None,
                                              sentences))
        return records
    finally:
        for scorer in scorers:
            scorer.unload()
        if owned:
            store.close()


def _reference_records(scorers: Sequence[Scorer], cache: ScoreCache, pairs: Sequence[tuple[str, str]],
                       ids: Sequence[str] | None, sentences: bool,
                       counts: dict[str, dict[str, int]] | None = None) -> list[ReferenceQE]:
    """``ReferenceQE`` of each (zh, en) pair from the given scorers (cache first)."""
    scores: dict[str, list[NeuralScore]] = {}
    localised: list[SentenceLocalisation | None] = [None] * len(pairs)
    for scorer in scorers:
        metric_counts = counts.setdefault(scorer.metric, {}) if counts is not None else None
        scores[scorer.metric] = cached_scores(scorer, cache, [scorer.inputs(zh, en, "") for zh, en in pairs],
                                              metric_counts)
        if isinstance(scorer, LabseScorer) and sentences:
            sentence_counts = counts.setdefault("labse/sentences", {}) if counts is not None else None
            localised = list(cached_localisations(scorer, cache, pairs, sentence_counts))
    records = []
    for i in range(len(pairs)):
        by_metric = {m: s[i] for m, s in scores.items()}
        records.append(ReferenceQE(ids[i] if ids is not None else None, {m: v.score for m, v in by_metric.items()},
                                   {m: v.pieces for m, v in by_metric.items() if v.pieces > 1}, localised[i]))
    return records


def reference_qe_path(run_folder: str | Path) -> Path:
    return Path(run_folder) / REFERENCE_QE_FILE


def iter_reference_qe(path: str | Path) -> Iterator[ReferenceQE]:
    """The records of a run's reference_qe.jsonl (a run folder or the file), in reference order."""
    from evalkit.errors import InputError
    from evalkit.jsonl import iter_jsonl

    path = Path(path)
    if path.is_dir():
        path = reference_qe_path(path)
    for lineno, obj in iter_jsonl(path):
        try:
            yield ReferenceQE.from_dict(obj)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InputError(path, "expected a reference QE record: 'id', 'scores', 'split' (and 'sentences')",
                             lineno) from None


def load_reference_qe(path: str | Path) -> dict[str, ReferenceQE]:
    """A run's reference_qe.jsonl as id -> ``ReferenceQE`` (the whole file in memory)."""
    return {r.id: r for r in iter_reference_qe(path) if r.id is not None}


# --- the score stage ----------------------------------------------------------------------------


def preflight(config: RunConfig) -> None:
    """Check the packages and resolve (not load) every configured neural model: fails fast."""
    metrics = neural_metrics(config.scoring.metrics)
    if not metrics:
        return
    check_packages(metrics)
    online = _Online()
    for metric in metrics:
        make_scorer(metric, config.scoring.neural, online=online)


class NeuralStage:
    """The score stage's neural part (see the module docstring); ``open`` returns None when no
    neural metric is configured."""

    def __init__(self, config: RunConfig, root: Path, metrics: list[str]):
        from evalkit.metrics.neural_cache import default_cache_path

        self.config = config
        self.root = root
        self.metrics = metrics
        neural = config.scoring.neural
        self.neural = neural
        online = _Online()
        self.scorers = {m: make_scorer(m, neural, progress=neural.progress, online=online) for m in metrics}
        self.qe_metrics = [m for m in metrics if m in QE_METRICS] if neural.reference_qe else []
        self.sentences = neural.sentences and "labse" in self.qe_metrics
        self.cache_path = default_cache_path(neural.cache, config.cache)
        self.cache, _ = _open_cache(self.cache_path, neural)
        self.counts: dict[str, dict[str, int]] = {m: {} for m in metrics}
        self.qe_counts: dict[str, dict[str, int]] = {}
        self.values: dict[str, dict[str, Any]] = {}  # system -> metric -> array('d') of segment scores
        self.split: dict[str, dict[str, int]] = {}  # system -> metric -> segments split
        self.timings: dict[str, float] = {}

    @classmethod
    def open(cls, config: RunConfig, root: str | Path) -> NeuralStage | None:
        metrics = neural_metrics(config.scoring.metrics)
        return cls(config, Path(root), metrics) if metrics else None

    def close(self) -> None:
        for scorer in self.scorers.values():
            scorer.unload()
        self.cache.close()

    def prefill(self, reference: Path, unscored: Mapping[str, str], lookups: Mapping[str, Any]) -> None:
        """Score every (system, paragraph) pair and, for the QE metrics, every reference pair, model
        by model, into the cache; then write reference_qe.jsonl. ``lookups``: system ->
        ``run_inputs.HypLookup`` (each walked in reference order)."""
        from evalkit.reference_set import iter_references

        for metric, scorer in self.scorers.items():
            started = time.perf_counter()

            def system_items(scorer: Scorer = scorer) -> Iterator[tuple[str, ...]]:
                for lookup in lookups.values():
                    lookup.begin()
                    for r in iter_references(reference):
                        hyp = lookup.get(r.id)  # for every paragraph: the lookup walks in reference order
                        if r.id not in unscored:
                            yield scorer.inputs(r.zh, hyp.hyp if hyp else "", r.en)

            for window in chunked(system_items(), WINDOW):
                cached_scores(scorer, self.cache, window, self.counts[metric])
            if metric in self.qe_metrics:
                pairs_iter = ((r.zh, r.en) for r in iter_references(reference) if r.id not in unscored)
                for window in chunked(pairs_iter, WINDOW):
                    _reference_records([scorer], self.cache, window, None, self.sentences, self.qe_counts)
            scorer.unload()
            self.timings[f"{metric}_s"] = round(time.perf_counter() - started, 3)
        if self.qe_metrics:
            self._write_reference_qe(reference, unscored)
        else:
            reference_qe_path(self.root).unlink(missing_ok=True)  # none of an earlier run's, out of date

    def _write_reference_qe(self, reference: Path, unscored: Mapping[str, str]) -> None:
        from array import array

        from evalkit.jsonl import atomic_writer, dumps
        from evalkit.reference_set import iter_references

        values = {m: array("d") for m in self.qe_metrics}
        split = dict.fromkeys(self.qe_metrics, 0)
        scored = ((r.id, r.zh, r.en) for r in iter_references(reference) if r.id not in unscored)
        with atomic_writer(reference_qe_path(self.root)) as out:
            scorers = [self.scorers[m] for m in self.qe_metrics]
            for window in chunked(scored, WINDOW):
                pairs = [(zh, en) for _, zh, en in window]
                ids = [pid for pid, _, _ in window]
                for record in _reference_records(scorers, self.cache, pairs, ids, self.sentences):  # from the cache
                    for m in self.qe_metrics:
                        values[m].append(record.scores[m])
                        split[m] += m in record.split
                    out.write(dumps(record.to_dict()) + "\n")
        self.qe_values = values
        self.qe_split = split

    def merge_lines(self, lines: str, block: Sequence[tuple[tuple[str, str, Any, str, str], str]]) -> str:
        """Add each neural metric's column to a task's scores.jsonl lines: ``scores[m]``,
        ``stats[m]`` (``[score]``: a mean-of-segments metric's statistics) and ``split`` (metric
        -> pieces, for the metrics that were split). ``block``: the task's (row, Chinese source)."""
        from array import array

        from evalkit.jsonl import dumps

        objs = [json.loads(line) for line in lines.splitlines() if line.strip()]
        if len(objs) != len(block):
            raise RuntimeError(f"neural merge: {len(objs)} scores.jsonl lines for {len(block)} rows")
        per_metric = {}
        for metric, scorer in self.scorers.items():
            items = [scorer.inputs(zh, hyp, ref) for (_pid, _system, _fp, hyp, ref), zh in block]
            per_metric[metric] = cached_scores(scorer, self.cache, items)  # prefilled: read back (or computed now)
        out = []
        for k, (obj, ((pid, system, _fp, _hyp, _ref), _zh)) in enumerate(zip(objs, block, strict=True)):
            if obj.get("id") != pid or obj.get("system") != system:
                raise RuntimeError(f"neural merge: line {obj.get('id')}/{obj.get('system')} for row {pid}/{system}")
            split = {}
            values = self.values.setdefault(system, {m: array("d") for m in self.metrics})
            splits = self.split.setdefault(system, dict.fromkeys(self.metrics, 0))
            for metric in self.metrics:
                value = per_metric[metric][k]
                obj["scores"][metric] = value.score
                obj["stats"][metric] = [value.score]
                values[metric].append(value.score)
                if value.pieces > 1:
                    split[metric] = value.pieces
                    splits[metric] += 1
            obj["split"] = split
            out.append(dumps(obj) + "\n")
        return "".join(out)

    def finish(self, systems: Sequence[str]) -> dict[str, Any]:
        """Corpus scores (means) with CIs, paired tests between systems, signatures, models, cache
        counts: the ``neural`` section of scores.meta.json."""
        import numpy as np

        from evalkit.metrics.scoring import aggregate_arrays

        scoring = self.config.scoring
        signatures = {m: s.signature for m, s in self.scorers.items()}
        stats = {s: {m: np.frombuffer(self.values.get(s, {}).get(m, b""), dtype=np.float64).reshape(-1, 1)
                     for m in self.metrics} for s in systems}
        corpus, significance, skipped, timings = aggregate_arrays(
            stats, self.metrics, n_bootstrap=scoring.bootstrap, seed=scoring.seed, signatures=signatures)
        out: dict[str, Any] = {
            "metrics": list(self.metrics),
            "models": {m: s.describe() for m, s in self.scorers.items()},
            "signatures": signatures,
            "corpus": {s: {m: (c.to_dict() if c else None) for m, c in by.items()} for s, by in corpus.items()},
            "significance": significance,
            "split_segments": {s: dict(self.split.get(s, dict.fromkeys(self.metrics, 0))) for s in systems},
            "skipped": skipped,
            "cache": {"path": str(self.cache_path), "paragraphs": self.counts, "reference_qe": self.qe_counts},
            "timings": {**self.timings, **{k: round(v, 3) for k, v in timings.items()}},
            "reference_qe": None,
        }
        if self.qe_metrics:
            qe_stats = {"reference": {m: np.frombuffer(self.qe_values[m], dtype=np.float64).reshape(-1, 1)
                                      for m in self.qe_metrics}}
            qe_corpus, _, _, _ = aggregate_arrays(qe_stats, self.qe_metrics, n_bootstrap=scoring.bootstrap,
                                                  seed=scoring.seed, signatures=signatures)
            out["reference_qe"] = {
                "file": REFERENCE_QE_FILE, "metrics": list(self.qe_metrics), "sentences": self.sentences,
                "corpus": {m: (c.to_dict() if c else None) for m, c in qe_corpus["reference"].items()},
                "split_segments": dict(self.qe_split),
            }
        return out


__all__ = [
    "DEFAULT_MODELS", "NEURAL_METRICS", "QE_METRICS", "REFERENCE_QE_FILE", "CometScorer", "LabseScorer", "ModelRef",
    "NeuralMetricError", "NeuralScore", "NeuralStage", "ReferenceQE", "Scorer", "SentenceLocalisation",
    "SentenceMatch", "aligned_groups", "cached_scores", "check_packages", "import_comet", "iter_reference_qe",
    "load_reference_qe", "localise_sentences", "make_scorer", "neural_metrics", "preflight", "reference_qe_path",
    "score_reference_qe", "split_sentences", "text_units",
]
