"""The translate stage: reference set → ``<out>/hyps/<system>.jsonl`` for each configured system.

Entry points
------------
``translate_to_files(config, references, out, *, only=None, refresh=False, keep=False) -> {name: HypsStats}``
    what ``evalkit translate`` and the ``run`` pipeline call: every selected system, its hyps
    file written atomically while the records stream out, a few counts returned per system
    (with ``keep``, every record too: for small sets).
``iter_system(config, system, references, *, refresh=False, progress=True, window=None)``
    one system, in this process, as a stream of records in reference order: create the
    backend, then window by window serve what the cache has and translate the rest in
    length-sorted batches (committing each batch to the cache). ``translate_system`` is the
    same as a list. Neither writes a file.

    When ``config.engine.name == "ray"`` the per-system work is delegated to
    ``evalkit.systems.ray_engine.iter_with_ray`` / ``translate_with_ray``, which keep exactly
    this contract (records in reference order, cache honoured and filled, ``refresh`` obeyed,
    the same windows and batches, so the same hypotheses).
``iter_windows(label, fingerprint, batch_size, references, run_batches, *, cache_file, window, …)``
    the window loop both engines share: cache lookup, length-sorted batches of the misses, each
    batch's translations committed to the cache as ``run_batches`` yields them, records in
    reference order. ``in_process_batches(translator)`` is this process's ``run_batches``;
    ``ray_engine`` passes a Ray Data pipeline instead.
``run_translator(translator, segments, *, cache, refresh=False, progress=True)``
    the loop over one list of segments, for an already created backend and an open cache (or None).

``references`` is a list of ``ReferenceRecord`` or the path of a reference JSONL (the run's
``reference.jsonl``, written and checked by ``reference_set.prepare_references``).

Memory (issue "Scale"): the reference set is read in windows of ``WINDOW`` paragraphs; each
window's cache misses are sorted by length and batched exactly as a whole set was before, and its
records are written before the next window is read, so memory depends on the window, not on the
corpus. A set smaller than one window gives byte-identical hypotheses to translating it whole;
in a larger one a paragraph repeated in a later window is served from the cache (``cached``).
Precomputed (non-cacheable) systems — the ``file`` backend — still see every paragraph at once,
so that they can check their file against the whole reference set: they hold the set's ids and
Chinese text, their file's id → hypothesis table and one translation per paragraph.

Paragraphs with an empty Chinese side (``1-0`` beads) get an empty hypothesis with
``chunks=0`` without calling a model.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.config import RunConfig, SystemConfig
from evalkit.errors import ConfigError
from evalkit.jsonl import atomic_writer, dumps
from evalkit.layout import RunLayout
from evalkit.records import HypothesisRecord, ReferenceRecord
from evalkit.systems.base import (
    PartialTranslationError,
    Segment,
    Translation,
    Translator,
    create_system,
)
from evalkit.systems.cache import TranslationCache, cache_path

log = logging.getLogger("evalkit.systems")

# Paragraphs read, looked up in the cache, batched and written together (per system).
WINDOW = 20_000

References = Sequence[ReferenceRecord] | str | Path


def segments_of(references: Sequence[ReferenceRecord]) -> list[Segment]:
    return [Segment(r.id, r.zh) for r in references]


def window_of(config: RunConfig) -> int:
    """Paragraphs per window: the config's ``engine.window``, else ``WINDOW``."""
    return config.engine.window or WINDOW


def iter_segment_windows(references: References, size: int) -> Iterator[list[Segment]]:
    """The reference set's (id, Chinese) segments, ``size`` at a time, in reference order."""
    from evalkit.reference_set import iter_references
    from evalkit.iterables import chunked

    records = iter_references(Path(references)) if isinstance(references, str | Path) else references
    for part in chunked(records, max(1, size)):
        yield segments_of(part)


def count_references(references: References) -> int:
    """How many paragraphs a reference set holds (a fast line count for a file)."""
    if isinstance(references, str | Path):
        with Path(references).open("rb") as handle:
            return sum(1 for line in handle if line.strip())
    return len(references)


def select_systems(config: RunConfig, only: Sequence[str] | None) -> list[SystemConfig]:
    """The configured systems, or the ones named in ``only`` (in config order); unknown names are errors."""
    if not config.systems:
        raise ConfigError("the config lists no systems to translate with")
    if not only:
        return list(config.systems)
    names = [s.name for s in config.systems]
    unknown = [n for n in only if n not in names]
    if unknown:
        raise ConfigError(f"unknown system(s) {', '.join(map(repr, unknown))}; configured: {', '.join(names)}")
    return [s for s in config.systems if s.name in set(only)]


@dataclass
class HypsStats:
    """What one system's hyps file holds, counted while it was written."""

    path: Path
    paragraphs: int = 0
    cached: int = 0
    chunked: int = 0
    truncated: int = 0
    records: list[HypothesisRecord] | None = None  # every record, when asked to keep them


def write_hyps(path: Path, records: Iterable[HypothesisRecord], keep: list[HypothesisRecord] | None = None) -> HypsStats:
    """Write records to ``path`` as they come (atomically: the file appears once all are written)."""
    stats = HypsStats(path)
    with atomic_writer(path) as handle:
        for r in records:
            handle.write(dumps(r.to_dict()) + "\n")
            stats.paragraphs += 1
            stats.cached += r.cached
            stats.chunked += r.chunks > 1
            stats.truncated += r.truncated
            if keep is not None:
                keep.append(r)
    return stats


def system_records(config: RunConfig, system: SystemConfig, references: References, *,
                   refresh: bool = False) -> Iterator[HypothesisRecord]:
    """One system's records in reference order, on the configured engine."""
    if config.engine.name == "ray":
        # Only installed where Ray is wanted.
        from evalkit.systems.ray_engine import iter_with_ray

        return iter_with_ray(config, system, references, refresh=refresh)
    return iter_system(config, system, references, refresh=refresh)


def translate_to_files(config: RunConfig, references: References, out: Path, *, only: list[str] | None = None,
                       refresh: bool = False, keep: bool = False) -> dict[str, HypsStats]:
    """Translate ``references`` with each selected system into ``<out>/hyps/<name>.jsonl``, streaming.
    ``keep``: also return every record (``HypsStats.records``; all in memory, for small sets)."""
    layout = RunLayout.at(out)
    results = {}
    for system in select_systems(config, only):
        kept: list[HypothesisRecord] | None = [] if keep else None
        stats = write_hyps(layout.hyps(system.name), system_records(config, system, references, refresh=refresh), kept)
        stats.records = kept
        results[system.name] = stats
    return results


def translate_system(config: RunConfig, system: SystemConfig, references: References, *,
                     refresh: bool = False) -> list[HypothesisRecord]:
    """One system, in this process, as a list (see the module docstring for the contract)."""
    return list(iter_system(config, system, references, refresh=refresh))


def iter_system(config: RunConfig, system: SystemConfig, references: References, *, refresh: bool = False,
                progress: bool = True, window: int | None = None) -> Iterator[HypothesisRecord]:
    """One system, in this process: records in reference order, window by window (``window``,
    else ``window_of(config)`` paragraphs)."""
    window = window or window_of(config)
    with create_system(system) as translator:
        if not translator.cacheable:
            # A precomputed file is checked against the whole reference set at once.
            segments = [s for part in iter_segment_windows(references, window) for s in part]
            yield from run_translator(translator, segments, cache=None, refresh=refresh, progress=progress)
            return
        yield from iter_windows(translator.name, translator.fingerprint, translator.batch_size, references,
                                in_process_batches(translator), cache_file=cache_path(config.cache),
                                window=window, refresh=refresh, progress=progress)


BatchRunner = Callable[[list[list[str]]], Iterator[list[tuple[str, Translation]]]]
"""Translates length-sorted batches of source paragraphs, yielding each batch's finished
(source, translation) pairs as it completes; after a failure it yields what the failing batch
finished, then raises, so that those reach the cache."""


def in_process_batches(translator: Translator) -> BatchRunner:
    """The batch runner of a backend created in this process."""

    def segments(batch: list[str]) -> list[Segment]:
        return [Segment(f"#{i}", zh) for i, zh in enumerate(batch)]

    def checked(batch: list[str], results: list[Translation]) -> list[tuple[str, Translation]]:
        if len(results) != len(batch):
            raise RuntimeError(f"{translator.name}: backend returned {len(results)} translations for "
                               f"{len(batch)} segments")
        return list(zip(batch, results, strict=True))

    def run(batches: list[list[str]]) -> Iterator[list[tuple[str, Translation]]]:
        group = max(1, translator.concurrent_batches)
        for start in range(0, len(batches), group):
            part = batches[start:start + group]
            if len(part) == 1:
                try:
                    results = [translator.translate(segments(part[0]))]
                except PartialTranslationError as exc:
                    yield [(part[0][i], t) for i, t in sorted(exc.done.items())]  # keep what was paid for
                    raise
            else:  # a backend that decodes several batches at once (``Translator.concurrent_batches``)
                results = translator.translate_batches([segments(batch) for batch in part])
                if len(results) != len(part):
                    raise RuntimeError(f"{translator.name}: backend returned {len(results)} batches for {len(part)}")
            for batch, translations in zip(part, results, strict=True):
                yield checked(batch, translations)

    return run


def iter_windows(label: str, fingerprint: str, batch_size: int, references: References, run_batches: BatchRunner, *,
                 cache_file: Path, window: int, refresh: bool = False, progress: bool = True) -> Iterator[HypothesisRecord]:
    """A cacheable system's records in reference order, window by window, its batches translated
    by ``run_batches`` (in this process or on Ray: the same windows, batches and records)."""
    started = time.perf_counter()
    bar = progress_bar(label, count_references(references) if progress else 0, progress)
    paragraphs = cached = translated = 0
    try:
        with TranslationCache(cache_file) as cache:
            for segments in iter_segment_windows(references, window):
                records, todo = _translate_window(fingerprint, batch_size, segments, cache, refresh, bar, run_batches)
                paragraphs += len(records)
                cached += sum(r.cached for r in records)
                translated += todo
                yield from records
    finally:
        bar.close()
    log.info("%s: %d paragraphs, %d from cache, %d translated in %.1f s", label, paragraphs, cached, translated,
             time.perf_counter() - started)


def progress_bar(name: str, total: int, progress: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="para", desc=name, file=sys.stderr, disable=not progress,
                dynamic_ncols=True, mininterval=0.5)


def _batches_by_length(sources: list[str], batch_size: int) -> list[list[str]]:
    # Longest first: similar lengths pad little, and an out-of-memory error shows up at once.
    ordered = sorted(sources, key=len, reverse=True)
    return [ordered[i:i + batch_size] for i in range(0, len(ordered), max(1, batch_size))]


def run_translator(translator: Translator, segments: Sequence[Segment], *, cache: TranslationCache | None,
                   refresh: bool = False, progress: bool = True) -> list[HypothesisRecord]:
    """Translate ``segments`` with a created backend; return records in segment order."""
    fingerprint = translator.fingerprint
    started = time.perf_counter()
    if not translator.cacheable:
        translations = translator.translate(segments)
        if len(translations) != len(segments):
            raise RuntimeError(f"{translator.name}: backend returned {len(translations)} translations for {len(segments)} segments")
        return [HypothesisRecord(s.id, fingerprint, t.hyp, t.chunks, t.truncated, False)
                for s, t in zip(segments, translations, strict=True)]
    bar = progress_bar(translator.name, len(segments), progress)
    try:
        records, todo = _translate_window(fingerprint, translator.batch_size, segments, cache, refresh, bar,
                                          in_process_batches(translator))
    finally:
        bar.close()
    log.info("%s: %d paragraphs, %d from cache, %d translated in %.1f s", translator.name, len(segments),
             sum(r.cached for r in records), todo, time.perf_counter() - started)
    return records


def _translate_window(fingerprint: str, batch_size: int, segments: Sequence[Segment], cache: TranslationCache | None,
                      refresh: bool, bar: Any, run_batches: BatchRunner) -> tuple[list[HypothesisRecord], int]:
    """One window of a cacheable system: cache first, the misses in length-sorted batches (each
    committed to the cache as it finishes), records in segment order; and how many sources were
    translated."""
    done: dict[str, Translation] = {"": Translation("", chunks=0)}
    from_cache: set[str] = set()
    wanted = list(dict.fromkeys(s.zh for s in segments if s.zh))  # unique, in order
    if cache is not None and not refresh:
        done.update(cache.get_many(fingerprint, wanted))
        from_cache = set(done) - {""}
    todo = [zh for zh in wanted if zh not in done]
    pending = set(todo)
    bar.update(sum(1 for s in segments if s.zh not in pending))
    counts = _count_by_source(segments)
    batches = _batches_by_length(todo, batch_size)
    for finished in (run_batches(batches) if batches else ()):
        if cache is not None:
            cache.put_many(fingerprint, finished)  # committed as it arrives: an interrupted run resumes from here
        done.update(finished)
        bar.update(sum(counts[zh] for zh, _ in finished))
    records = [HypothesisRecord(s.id, fingerprint, done[s.zh].hyp, done[s.zh].chunks, done[s.zh].truncated,
                                s.zh in from_cache) for s in segments]
    return records, len(todo)


def _count_by_source(segments: Sequence[Segment]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in segments:
        counts[s.zh] = counts.get(s.zh, 0) + 1
    return counts
