"""The translate stage on Ray: one model replica per actor, the cache kept by the driver.

``engine: {name: ray, address: …, workers: N, gpus_per_worker: G}`` in a run config sends each
system's work here (``runner.system_records`` delegates to ``iter_with_ray``, which keeps
``runner.iter_system``'s contract: one record per reference paragraph, in reference order; the
cache honoured and filled; ``refresh`` obeyed; ``translate_with_ray`` is the same as a list).

How a system is run
-------------------
1. **Describe.** One short Ray task, scheduled with the workers' resources, creates the backend
   and reports its fingerprint and batch size. It runs where the workers run because a backend
   may choose its precision from the device it finds (``ct2`` picks int8 on CPU, float16 on GPU),
   and the fingerprint — the cache key — must be the workers' one, not the driver's.
2. **Window by window** (``engine.window`` paragraphs, default ``runner.WINDOW``; read from the reference file as the
   in-process runner reads them; memory depends on the window, not on the corpus):
   a. **Cache first.** The driver looks the window's source paragraphs up in the SQLite cache;
      only the misses are dispatched. Workers never open the cache: one writer, no lock
      traffic over NFS.
   b. **Route by length.** The misses are sorted by length and cut into the backend's batches
      exactly as the in-process runner cuts them (``runner._batches_by_length``), so every model
      call sees the same inputs with the same padding as in-process, and the hypotheses are
      byte-identical.
   c. **Translate** with a Ray Data pipeline: each batch is one row of a Dataset, and
      ``map_batches`` runs them on an ``ActorPoolStrategy`` pool of ``workers`` actors, each
      holding ``gpus_per_worker`` GPUs and one model replica (``create_system`` in the actor,
      loaded once per pipeline). One pipeline per window: raise ``engine.window`` (default
      ``runner.WINDOW``) so that a big model is loaded fewer times; the in-process path cuts the
      same windows from the same setting, so the hypotheses stay identical.
   d. **Fill the cache as results stream back**: each finished batch is committed at once, so an
      interrupted run resumes from what was paid for; then the window's records are yielded.

Precomputed systems (``file``) do no model work and read a file local to the driver: they run
in-process.

Ray and CTranslate2 are optional (``pip install 'evalkit[scale]'``); nothing here imports Ray
until a config asks for it.
"""

from __future__ import annotations

import json
import os
import traceback
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from evalkit.config import EngineConfig, RunConfig, SystemConfig
from evalkit.errors import BackendError, ConfigError, EvalkitError
from evalkit.records import HypothesisRecord
from evalkit.systems.base import Translation

if TYPE_CHECKING:
    from evalkit.systems.runner import References

# Backends with no model to replicate: their work stays on the driver.
IN_PROCESS_BACKENDS = frozenset({"file"})
# Ray Data blocks per window at most (about one per batch below that).
MAX_BLOCKS = 20_000


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise BackendError(f"engine 'ray' needs Ray, which is not installed ({exc}); "
                           "install it with: pip install 'evalkit[scale]'") from None
    return ray


def ensure_ray(engine: EngineConfig, **init_kwargs: Any) -> Any:
    """Connect to the engine's Ray cluster, or start a local one; reuse a connection already made.

    ``address``: None starts a local instance on this machine (a laptop); ``auto`` joins the
    cluster this node belongs to; ``ray://host:10001`` connects a remote client.
    """
    ray = _import_ray()
    if engine.workers < 1:
        raise ConfigError(f"engine.workers must be at least 1, got {engine.workers}")
    if engine.gpus_per_worker < 0:
        raise ConfigError(f"engine.gpus_per_worker must not be negative, got {engine.gpus_per_worker}")
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True, **init_kwargs}
        if engine.address:
            kwargs["address"] = engine.address
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = engine.address or "a local instance"
            raise BackendError(f"engine 'ray': cannot connect to {where} ({exc}); start a cluster with "
                               "`ray start --head`, or leave engine.address empty for a local one") from None
    return ray


# (system spec, gpus per worker, address) -> what ``_describe`` reported: a rerun in the same
# process (a notebook, the benchmarks) skips the describe task and its worker start-up.
_DESCRIBED: dict[str, tuple[str, int, bool]] = {}


def _describe(system: dict[str, Any]) -> tuple[str, int, bool]:
    """(fingerprint, batch size, cacheable) of a backend, created on a worker node."""
    from evalkit.config import SystemConfig
    from evalkit.systems.base import create_system

    with create_system(SystemConfig.model_validate(system)) as translator:
        return translator.fingerprint, int(translator.batch_size), bool(translator.cacheable)


class _TranslateActor:
    """One model replica: created once per actor, then fed one length-sorted batch per row.

    Failures travel back as data (``error``: ``user:<message>`` for an evalkit error, ``bug:<traceback>``
    otherwise), a failure to create the backend included: the user sees the backend's own message
    (a missing CUDA library, an unreachable model) exactly as in-process, and a partial batch's
    finished translations still reach the cache.
    """

    def __init__(self, system: dict[str, Any]):
        from evalkit.config import SystemConfig
        from evalkit.systems.base import create_system

        self.translator: Any = None
        self.fingerprint = ""
        self.error = ""
        try:
            self.translator = create_system(SystemConfig.model_validate(system))
            self.fingerprint = self.translator.fingerprint
        except Exception as exc:  # noqa: BLE001  (reported with the first batch)
            self.error = _error_text(exc)

    def translate(self, sources_json: str) -> tuple[str, str]:
        """One batch (its sources as a JSON list): ``results``, a JSON list of ``[hyp, chunks,
        truncated]`` or null per source, and ``error`` (empty: none)."""
        from evalkit.systems.base import PartialTranslationError, Segment

        sources = json.loads(sources_json)
        results: list[list[Any] | None] = [None] * len(sources)
        error = self.error
        if not error:
            try:
                translations = self.translator.translate([Segment(f"#{i}", zh) for i, zh in enumerate(sources)])
                if len(translations) != len(sources):
                    raise RuntimeError(f"{self.translator.name}: backend returned {len(translations)} translations "
                                       f"for {len(sources)} segments")
                results = [[t.hyp, t.chunks, t.truncated] for t in translations]
            except PartialTranslationError as exc:
                error = _error_text(exc)
                for i, t in exc.done.items():
                    results[i] = [t.hyp, t.chunks, t.truncated]
            except Exception as exc:  # noqa: BLE001  (travels back as data)
                error = _error_text(exc)
        return json.dumps(results, ensure_ascii=False), error

    def __call__(self, rows: dict[str, Any]) -> dict[str, list[Any]]:
        """``map_batches``' entry point: every row is one batch of the window."""
        out: dict[str, list[Any]] = {"batch": [], "fingerprint": [], "results": [], "error": []}
        for batch_id, sources_json in zip(rows["batch"], rows["sources"], strict=True):
            results, error = self.translate(str(sources_json))
            out["batch"].append(int(batch_id))
            out["fingerprint"].append(self.fingerprint)
            out["results"].append(results)
            out["error"].append(error)
        return out

    def __del__(self) -> None:
        translator = getattr(self, "translator", None)  # None if __init__ never ran
        if translator is not None:
            translator.close()


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, EvalkitError):
        return "user:" + str(exc)
    return "bug:" + "".join(traceback.format_exception(exc))  # a bug: keep its traceback for the driver


def _cpus_per_worker(ray: Any, engine: EngineConfig) -> float:
    """CPUs reserved by (and threads given to) each actor.

    GPU actors need one CPU to feed their GPU. CPU-only actors split the cluster's cores, less one
    left to the driver and Ray's own processes: Ray sets ``OMP_NUM_THREADS`` from this number,
    and OpenMP threads that must share a core with Ray's polling stall at every barrier (on a
    2-core machine one replica ran 2–2.5× slower with 2 threads than with 1).
    """
    if engine.gpus_per_worker > 0:
        return 1.0
    total = int(ray.cluster_resources().get("CPU", 1.0))
    return float(max(1, (total - 1) // engine.workers))


def translate_with_ray(config: RunConfig, system: SystemConfig, references: References, *,
                       refresh: bool = False, progress: bool = True) -> list[HypothesisRecord]:
    """One system on Ray, as a list; the same records as ``runner.translate_system``."""
    return list(iter_with_ray(config, system, references, refresh=refresh, progress=progress))


def iter_with_ray(config: RunConfig, system: SystemConfig, references: References, *, refresh: bool = False,
                  progress: bool = True, window: int | None = None) -> Iterator[HypothesisRecord]:
    """One system on Ray, window by window; the same records as ``runner.iter_system`` (see the
    module docstring). ``references``: a list of records or a reference JSONL path."""
    from evalkit.systems.cache import cache_path
    from evalkit.systems.runner import iter_system, iter_windows, window_of

    window = window or window_of(config)
    if system.backend in IN_PROCESS_BACKENDS:
        yield from iter_system(config, system, references, refresh=refresh, progress=progress, window=window)
        return
    engine = config.engine
    ray = ensure_ray(engine)
    try:
        import ray.data  # noqa: F401  (the [data] extra; fail here, before any work, not mid-run)
    except ImportError as exc:
        raise BackendError(f"engine 'ray' translates with Ray Data, which is not installed ({exc}); "
                           "install it with: pip install 'evalkit[scale]'") from None
    spec = system.model_dump(mode="json")

    key = json.dumps([spec, engine.gpus_per_worker, engine.address], sort_keys=True)
    if key not in _DESCRIBED:
        describe = ray.remote(_describe).options(num_cpus=1, num_gpus=engine.gpus_per_worker or None, max_retries=0)
        try:
            _DESCRIBED[key] = ray.get(describe.remote(spec))
        except ray.exceptions.RayError as exc:
            raise _as_backend_error(system, exc) from None
    fingerprint, batch_size, cacheable = _DESCRIBED[key]
    if not cacheable:
        yield from iter_system(config, system, references, refresh=refresh, progress=progress, window=window)
        return

    yield from iter_windows(f"{system.name} (ray, {engine.workers} workers)", fingerprint, batch_size, references,
                            lambda batches: _run_pipeline(ray, engine, system, spec, fingerprint, batches),
                            cache_file=cache_path(config.cache), window=window, refresh=refresh, progress=progress)


def _run_pipeline(ray: Any, engine: EngineConfig, system: SystemConfig, spec: dict[str, Any], fingerprint: str,
                  batches: list[list[str]]) -> Iterator[list[tuple[str, Translation]]]:
    """Translate one window's batches with a Ray Data pipeline (a ``runner.BatchRunner``): each
    batch's finished translations are yielded as they stream back, for the cache."""
    from ray.data import ActorPoolStrategy, DataContext

    ctx = DataContext.get_current()
    ctx.enable_progress_bars = False  # our own bar counts paragraphs, as the in-process runner's does
    # Sources travel as one JSON string per batch: a batch stays one row whatever Arrow does to lists.
    rows = [{"batch": i, "sources": json.dumps(b, ensure_ascii=False)} for i, b in enumerate(batches)]
    # About one block per batch: every actor starts at once, and each finished block reaches the
    # cache at once (a block's results come back together). Capped so a huge window does not
    # schedule a task per batch.
    dataset = ray.data.from_items(rows, override_num_blocks=min(len(rows), MAX_BLOCKS))
    translated = dataset.map_batches(
        _TranslateActor,
        fn_constructor_kwargs={"system": spec},
        batch_size=1,
        batch_format="numpy",
        compute=ActorPoolStrategy(size=min(engine.workers, len(rows))),
        num_cpus=_cpus_per_worker(ray, engine),
        num_gpus=engine.gpus_per_worker or None,
    )
    try:
        for row in translated.iter_rows():
            if row["error"] and not row["fingerprint"]:  # the actor could not create the backend
                _raise_worker_error(system, str(row["error"]))
            if row["fingerprint"] != fingerprint:
                raise BackendError(
                    f"system {system.name!r}: a Ray worker built a different system ({row['fingerprint']}) than the "
                    f"one described ({fingerprint}); the cluster's nodes differ (devices or package versions)")
            sources = batches[int(row["batch"])]
            yield [(src, Translation(r[0], int(r[1]), bool(r[2])))
                   for src, r in zip(sources, json.loads(row["results"]), strict=True) if r is not None]
            if row["error"]:
                _raise_worker_error(system, str(row["error"]))
    except ray.exceptions.RayError as exc:
        raise _as_backend_error(system, exc) from None


def _raise_worker_error(system: SystemConfig, error: str) -> None:
    kind, _, message = error.partition(":")
    if kind == "user":
        raise BackendError(message)
    raise RuntimeError(f"system {system.name!r} failed on a Ray worker:\n{message}")


def _as_backend_error(system: SystemConfig, exc: Exception) -> BackendError:
    """A one-line error from a Ray failure: the original exception's own message where Ray kept it."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BackendError | ConfigError):  # a plain task (describe) keeps the exception object
        return BackendError(str(cause))
    # Otherwise (a dead actor or node) Ray keeps only text: the original error is the last line before
    # Python's "direct cause" note.
    text = str(exc)
    head = text.split("\n\nThe above exception was the direct cause")[0].strip().splitlines()
    reason = head[-1] if head else type(exc).__name__
    return BackendError(f"system {system.name!r} failed on a Ray worker: {reason}")


def local_ray_kwargs(num_cpus: int | None = None) -> dict[str, Any]:
    """``ray.init`` arguments for a small local instance (tests, benchmarks): no dashboard."""
    kwargs: dict[str, Any] = {"include_dashboard": False}
    if num_cpus is not None:
        kwargs["num_cpus"] = num_cpus
    # Workers must import this checkout even when evalkit is not installed in site-packages.
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    kwargs["runtime_env"] = {"env_vars": {"PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}}
    return kwargs
