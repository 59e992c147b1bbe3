"""The translate stage: reference set → ``<out>/hyps/<system>.jsonl`` for each configured system.

Entry points
------------
``translate_systems(config, references, out, *, only=None, refresh=False)``
    what ``evalkit translate`` and the ``run`` pipeline call: every selected system, its hyps
    file written atomically, the records returned by system name.
``translate_system(config, system, references, *, refresh=False) -> list[HypothesisRecord]``
    one system, in this process: create the backend, serve what the cache has, translate the
    rest in length-sorted batches (committing each batch to the cache), return one record per
    reference paragraph in reference order. Writes no file.

    When ``config.engine.name == "ray"`` the per-system work is delegated to
    ``evalkit.systems.ray_engine.translate_with_ray``, which has exactly this signature and
    contract (records in reference order, cache honoured and filled, ``refresh`` obeyed).
    Its workers can reuse ``run_translator`` on their share of the segments.
``run_translator(translator, segments, *, cache, refresh=False, progress=True)``
    the loop itself, for an already created backend and an open cache (or None).

Paragraphs with an empty Chinese side (``1-0`` beads) get an empty hypothesis with
``chunks=0`` without calling a model; precomputed (non-cacheable) systems see every paragraph,
so that they can check their file against the whole reference set.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from evalkit.config import RunConfig, SystemConfig
from evalkit.errors import ConfigError
from evalkit.jsonl import write_jsonl
from evalkit.layout import RunLayout
from evalkit.records import HypothesisRecord, ReferenceRecord
from evalkit.systems.base import PartialTranslationError, Segment, Translation, Translator, create_system
from evalkit.systems.cache import TranslationCache, cache_path

log = logging.getLogger("evalkit.systems")


def segments_of(references: Sequence[ReferenceRecord]) -> list[Segment]:
    return [Segment(r.id, r.zh) for r in references]


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


def translate_systems(config: RunConfig, references: list[ReferenceRecord], out: Path, *,
                      only: list[str] | None = None, refresh: bool = False) -> dict[str, list[HypothesisRecord]]:
    """Translate ``references`` with each selected system and write ``<out>/hyps/<name>.jsonl``."""
    layout = RunLayout.at(out)
    results: dict[str, list[HypothesisRecord]] = {}
    for system in select_systems(config, only):
        if config.engine.name == "ray":
            from evalkit.systems.ray_engine import translate_with_ray  # only installed where Ray is wanted

            records = translate_with_ray(config, system, references, refresh=refresh)
        else:
            records = translate_system(config, system, references, refresh=refresh)
        write_jsonl(layout.hyps(system.name), records)
        results[system.name] = records
    return results


def translate_system(config: RunConfig, system: SystemConfig, references: Sequence[ReferenceRecord], *,
                     refresh: bool = False) -> list[HypothesisRecord]:
    """One system, in this process (see the module docstring for the contract)."""
    segments = segments_of(references)
    with create_system(system) as translator:
        if not translator.cacheable:
            return run_translator(translator, segments, cache=None, refresh=refresh)
        with TranslationCache(cache_path(config.cache)) as cache:
            return run_translator(translator, segments, cache=cache, refresh=refresh)


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

    done: dict[str, Translation] = {"": Translation("", chunks=0)}
    from_cache: set[str] = set()
    wanted = list(dict.fromkeys(s.zh for s in segments if s.zh))  # unique, in order
    if cache is not None and not refresh:
        done.update(cache.get_many(fingerprint, wanted))
        from_cache = set(done) - {""}
    todo = [zh for zh in wanted if zh not in done]

    from tqdm import tqdm

    bar = tqdm(total=len(segments), unit="para", desc=translator.name, file=sys.stderr, disable=not progress,
               dynamic_ncols=True, mininterval=0.5)
    try:
        pending = set(todo)
        bar.update(sum(1 for s in segments if s.zh not in pending))
        counts = _count_by_source(segments)
        for batch in _batches_by_length(todo, translator.batch_size):
            try:
                results = translator.translate([Segment(f"#{i}", zh) for i, zh in enumerate(batch)])
            except PartialTranslationError as exc:
                finished = [(batch[i], t) for i, t in sorted(exc.done.items())]
                if cache is not None:
                    cache.put_many(fingerprint, finished)  # keep what was paid for; a rerun resumes
                raise
            if len(results) != len(batch):
                raise RuntimeError(f"{translator.name}: backend returned {len(results)} translations for {len(batch)} segments")
            if cache is not None:
                cache.put_many(fingerprint, list(zip(batch, results, strict=True)))
            done.update(zip(batch, results, strict=True))
            bar.update(sum(counts[zh] for zh in batch))
    finally:
        bar.close()
    elapsed = time.perf_counter() - started
    log.info("%s: %d paragraphs, %d from cache, %d translated in %.1f s", translator.name, len(segments),
             sum(1 for s in segments if s.zh in from_cache), len(todo), elapsed)
    return [HypothesisRecord(s.id, fingerprint, done[s.zh].hyp, done[s.zh].chunks, done[s.zh].truncated,
                             s.zh in from_cache) for s in segments]


def _count_by_source(segments: Sequence[Segment]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in segments:
        counts[s.zh] = counts.get(s.zh, 0) + 1
    return counts
