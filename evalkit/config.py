"""Run configs: the YAML files under ``configs/`` (DESIGN.md, "Run config").

Relative paths in a config are resolved against the current working directory, like the
paths given on the command line. Unknown top-level keys are errors (a typo in ``gates``
must not silently disable a gate); each system entry keeps its backend-specific keys for
the backend to validate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evalkit.errors import ConfigError


class SystemConfig(BaseModel):
    """One MT system. Backend-specific keys (``model``, ``path``, ``generation``…) are kept as extras."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str
    backend: str

    @field_validator("name")
    @classmethod
    def _name_is_a_safe_file_stem(cls, value: str) -> str:
        # The name becomes ``hyps/<name>.jsonl``: keep it a plain file stem.
        if not value or value in {".", ".."} or any(c in value for c in "/\\\0"):
            raise ValueError(f"system name {value!r} must be a plain name (no '/', '\\\\')")
        return value

    def options(self) -> dict[str, Any]:
        """The backend-specific keys, as given."""
        return dict(self.model_extra or {})


class RegressionGate(BaseModel):
    """Fail only when the drop against the baseline exceeds ``max_drop`` *and* is significant."""

    model_config = ConfigDict(extra="forbid")

    metric: Literal["chrf", "chrf++", "bleu", "ter"] = "chrf"
    max_drop: float = 1.0
    alpha: float = 0.05


class GatesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_chrf: dict[str, float] = Field(default_factory=dict)
    max_flagged_share: float | None = None
    max_suspicious: int | None = None
    suspicion_threshold: float = 0.8
    regression: RegressionGate | None = None


class EngineConfig(BaseModel):
    """Where the work runs: in-process and local processes (``local``) or a Ray cluster (``ray``).

    With ``ray`` the translate stage always runs on the cluster (``workers`` model replicas of
    ``gpus_per_worker`` GPUs each); the score stage's paragraph scoring and the judge's
    per-paragraph work go there too once the run has at least ``shard_min_paragraphs`` scored
    paragraphs (below that, Ray's start-up costs more than it saves, and they use the local
    pool of ``scoring.workers`` processes: ``evalkit.shard``).
    """

    model_config = ConfigDict(extra="forbid")

    name: Literal["local", "ray"] = "local"
    address: str | None = None
    workers: int = 1
    gpus_per_worker: float = 0.0
    shard_min_paragraphs: int = Field(default=50_000, ge=0)
    # Paragraphs the translate stage reads, looks up and batches at a time, in-process and on Ray
    # alike (so both cut the same batches); None: ``systems.runner.WINDOW`` (20,000). On Ray each
    # window is one Ray Data pipeline, whose actors load the model once: raise it for big models.
    window: int | None = Field(default=None, ge=1)


class NeuralMetricOptions(BaseModel):
    """One neural metric's options (``scoring.neural.<metric>``; evalkit.metrics.neural)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = None  # hub id or local folder; None: the metric's default model
    revision: str | None = None  # hub revision (branch, tag or commit); hub ids only
    # COMET models only: the encoder (tokenizer and config) to build the checkpoint's network on,
    # instead of the checkpoint's own ``pretrained_model`` (e.g. a local xlm-roberta-large folder).
    encoder: str | None = None
    batch_size: int = Field(default=16, ge=1)
    device: str = "auto"  # auto (cuda > mps > cpu), cpu, cuda, cuda:1, mps
    dtype: Literal["auto", "float32", "fp32", "bfloat16", "bf16", "float16", "fp16"] = "auto"  # auto: bf16/fp16 on GPU


class NeuralConfig(BaseModel):
    """``scoring.neural``: per-metric options and what the neural metrics also compute."""

    model_config = ConfigDict(extra="forbid")

    comet: NeuralMetricOptions = Field(default_factory=NeuralMetricOptions)
    cometkiwi: NeuralMetricOptions = Field(default_factory=NeuralMetricOptions)
    labse: NeuralMetricOptions = Field(default_factory=NeuralMetricOptions)
    cache: str | None = None  # score cache file; None: the translation cache file (its own table)
    reference_qe: bool = True  # with cometkiwi or labse: also score (Chinese, reference English)
    sentences: bool = True  # with labse and reference_qe: each sentence's best match on the other side
    progress: bool | None = None  # tqdm bars; None: only on a terminal

    @model_validator(mode="after")
    def _encoder_is_for_comet_models(self) -> NeuralConfig:
        if self.labse.encoder is not None:
            raise ValueError("labse takes no 'encoder' (a COMET option); point 'model' at the folder instead")
        return self


NEURAL_METRIC_NAMES = ("comet", "cometkiwi", "labse")


class ScoringConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metrics: list[Literal["chrf", "chrf++", "bleu", "ter", "comet", "cometkiwi", "labse"]] = Field(
        default_factory=lambda: ["chrf", "chrf++", "bleu", "ter"])
    bootstrap: int = 1000
    seed: int = 12345
    workers: int | None = None  # processes for paragraph scoring and the judge; None: all cores
    # TER costs ~300 ms per long paragraph pair; above this many paragraphs it is skipped
    # (and the report says so) unless raised here.
    ter_max_paragraphs: int = 20000
    # Options of the neural metrics (comet, cometkiwi, labse) named in ``metrics``.
    neural: NeuralConfig = Field(default_factory=NeuralConfig)

    @model_validator(mode="after")
    def _neural_options_name_configured_metrics(self) -> ScoringConfig:
        # Options for a metric that is not computed are a typo or a forgotten metric: say so.
        unused = [m for m in NEURAL_METRIC_NAMES if m in self.neural.model_fields_set and m not in self.metrics]
        if unused:
            raise ValueError(f"scoring.neural has options for {', '.join(unused)}, which scoring.metrics does not "
                             "name; add it to scoring.metrics or remove its options")
        return self


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str | None = None
    sources: list[str] = Field(default_factory=list)
    out: str = "results/default"
    cache: str | None = None  # translation cache file; default: $EVALKIT_CACHE or .evalkit-cache/translations.sqlite
    systems: list[SystemConfig] = Field(default_factory=list)
    gates: GatesConfig = Field(default_factory=GatesConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)

    @model_validator(mode="after")
    def _check(self) -> RunConfig:
        if not self.reference and not self.sources:
            raise ValueError("give either 'reference' (a reference set) or 'sources' (archive files to ingest)")
        names = [s.name for s in self.systems]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"system names must be unique; repeated: {', '.join(duplicates)}")
        unknown = sorted(set(self.gates.min_chrf) - set(names))
        if unknown:
            raise ValueError(f"gates.min_chrf names systems that are not configured: {', '.join(unknown)}")
        return self


def _format_validation_error(path: str, exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        problems.append(f"{loc}: {err['msg']}")
    return f"{path}: invalid config: " + "; ".join(problems)


def parse_config(data: Any, source: str = "<config>") -> RunConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a YAML mapping at the top level, got {type(data).__name__}")
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(source, exc)) from None


def load_config(path: str | Path, **overrides: Any) -> RunConfig:
    """Read a YAML run config; ``overrides`` (``reference``, ``sources``, ``out``) replace its keys when not None."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: config is not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        data = {}
    if isinstance(data, dict):
        for key, value in overrides.items():
            if value is not None:
                data[key] = value
                if key == "reference":
                    data.pop("sources", None)
                if key == "sources":
                    data.pop("reference", None)
    return parse_config(data, str(path))


def config_as_dict(config: RunConfig) -> dict[str, Any]:
    """The config as run, for ``summary.json``."""
    return config.model_dump(mode="json")
