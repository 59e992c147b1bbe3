"""Where the score and judge stages' per-paragraph work runs: here, a local process pool, or Ray.

Both stages cut their paragraphs into tasks of consecutive paragraphs (tens to hundreds), in
reference order, and hand them to ``Shards.map``, which runs a module-level function on each
task somewhere and yields the results *in task order*, holding at most ``window`` tasks in
flight. The tasks are made lazily from the streamed inputs, so the driver's memory stays
bounded whatever the corpus size, and as every task is a pure function of its input, the
outputs are byte-identical wherever the tasks ran.

Where (``open_shards``):

* ``ray`` — ``engine.name: ray`` and at least ``engine.shard_min_paragraphs`` scored paragraphs:
  one Ray task (1 CPU) per task, on the cluster ``engine.address`` names (a local instance when
  empty: ``systems.ray_engine.ensure_ray``); about two tasks per cluster CPU in flight. Workers
  must be able to import evalkit (installed on every node, or ``runtime_env``).
* ``local`` — otherwise: a fork pool of ``scoring.workers`` processes (None: all cores), or this
  process alone when that is 1. ``prepare`` runs in the parent before the fork, so what it
  loads (the judge's dictionaries) is shared by the workers instead of loaded by each.

The choice is reported (``Shards.describe``) in scores.meta.json and summary.json.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar


if TYPE_CHECKING:
    from evalkit.config import RunConfig

K = TypeVar("K")
T = TypeVar("T")
R = TypeVar("R")


class Shards:
    """Runs ``fn(task)`` for a stream of tasks and yields the results in order (see the module doc)."""

    kind = "local"

    def __init__(self, workers: int, window: int):
        self.workers = workers
        self.window = max(1, window)

    def describe(self) -> dict[str, Any]:
        return {"engine": self.kind, "workers": self.workers}

    def map(self, fn: Callable[[T], R], tasks: Iterable[tuple[K, T]]) -> Iterator[tuple[K, R]]:
        """``(key, fn(task))`` for each ``(key, task)``, in order; only ``task`` travels to a worker
        (``key`` is what the caller keeps to use the result with)."""
        for key, task in tasks:
            yield key, fn(task)


class _PoolShards(Shards):
    """A fork pool of local processes; at most ``window`` tasks submitted and not yet consumed."""

    def __init__(self, pool: Any, workers: int, window: int):
        super().__init__(workers, window)
        # A fork pool (``metrics.scoring.scoring_pool``): the workers inherit the imported modules
        # and what ``prepare`` loaded; only the tasks and results are pickled.
        self._pool = pool

    def map(self, fn: Callable[[T], R], tasks: Iterable[tuple[K, T]]) -> Iterator[tuple[K, R]]:
        pending: deque[tuple[K, Any]] = deque()
        for key, task in tasks:
            pending.append((key, self._pool.apply_async(fn, (task,))))
            if len(pending) >= self.window:
                done_key, result = pending.popleft()
                yield done_key, result.get()
        while pending:
            done_key, result = pending.popleft()
            yield done_key, result.get()



class _RayShards(Shards):
    """One Ray task per task, about two per cluster CPU in flight; results fetched in order."""

    kind = "ray"

    def __init__(self, ray: Any):
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        super().__init__(cpus, 2 * cpus)
        self._ray = ray
        self._remote: dict[Callable[..., Any], Any] = {}

    def map(self, fn: Callable[[T], R], tasks: Iterable[tuple[K, T]]) -> Iterator[tuple[K, R]]:
        ray = self._ray
        if fn not in self._remote:
            # Pure functions: a task lost with its worker is simply run again.
            self._remote[fn] = ray.remote(fn).options(num_cpus=1, max_retries=3)
        remote = self._remote[fn]
        pending: deque[tuple[K, Any]] = deque()
        try:
            for key, task in tasks:
                pending.append((key, remote.remote(task)))
                if len(pending) >= self.window:
                    done_key, ref = pending.popleft()
                    yield done_key, ray.get(ref)
            while pending:
                done_key, ref = pending.popleft()
                yield done_key, ray.get(ref)
        finally:
            for _key, ref in pending:  # abandoned (an error downstream): stop what is still queued
                ray.cancel(ref)


def shard_kind(config: RunConfig, scored_paragraphs: int) -> str:
    """``ray`` or ``local``: where a stage with this many scored paragraphs works (module doc)."""
    engine = config.engine
    return "ray" if engine.name == "ray" and scored_paragraphs >= engine.shard_min_paragraphs else "local"


@contextmanager
def open_shards(config: RunConfig, scored_paragraphs: int, *, prepare: Callable[[], None] | None = None,
                window_per_worker: int = 2) -> Iterator[Shards]:
    """The ``Shards`` a stage uses for ``scored_paragraphs`` (see the module docstring)."""
    if shard_kind(config, scored_paragraphs) == "ray":
        from evalkit.systems.ray_engine import ensure_ray

        yield _RayShards(ensure_ray(config.engine))
        return
    from evalkit.metrics.scoring import resolve_workers, scoring_pool

    workers = resolve_workers(config.scoring.workers)
    if workers > 1 and prepare is not None:
        prepare()  # before the fork, so that the workers share what it loads
    with scoring_pool(workers) as pool:
        yield Shards(1, 1) if pool is None else _PoolShards(pool, workers, window_per_worker * workers)


# --- tasks (module-level, so that a pool or Ray can run them by reference) -----------------------

# One scores.jsonl row to make: (id, system, fingerprint, hypothesis, reference).
ScoreRow = tuple[str, str, "str | None", str, str]


def score_rows(task: tuple[Sequence[str], Sequence[ScoreRow]]) -> str:
    """``(metric names, rows)`` → the scores.jsonl lines of those rows (one string): each pair
    scored by ``metrics.scoring.score_pairs`` in this process, each line as the score stage writes it."""
    from evalkit.jsonl import dumps
    from evalkit.metrics.scoring import score_pairs

    metric_names, rows = task
    segments = score_pairs([(hyp, ref) for *_, hyp, ref in rows], metric_names, workers=1)
    return "".join(
        dumps({"id": pid, "system": system, "fingerprint": fingerprint, "hyp_chars": len(hyp),
               "ref_chars": len(ref), **seg.to_dict()}) + "\n"
        for (pid, system, fingerprint, hyp, ref), seg in zip(rows, segments, strict=True))
