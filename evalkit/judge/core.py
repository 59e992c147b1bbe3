"""The divergence judge: per paragraph, flags with evidence, a reference-suspicion score and a fault.

Pure functions over records: ``judge(references, hyps, chrf)`` reads nothing and writes nothing.

Flags (``Flag.name``) and what they implicate:

==================== ========= ====================================================================
flag                 implicates evidence
==================== ========= ====================================================================
untranslated         reference Chinese characters left in the English, or no English at all for a
                                body paragraph (a 0-1 bead that is not a repeated headline). With
                                ``system`` set: a system's output is mostly Chinese.
omission / addition  reference the English is much shorter / longer than predicted: robust z-score
                                (median/MAD, log space) of log(len EN / len ZH) learnt from the corpus
                                being judged, combined (median) with the same z-score against every
                                system's output length, so one broken system cannot raise it alone.
                                ``addition`` also uses sentence evidence (judge.sentences): the English
                                sentence that no system output carries (chrF precision, robust z per
                                system, best system), Stouffer-combined with the length z-score
name_mismatch        reference a person-shaped pinyin name in the English that no run of Chinese
                                characters reads like (CC-CEDICT readings; Wade–Giles and dictionary
                                renderings tolerated; see judge.names): 沈兹九 → "Shen Ziqing"
number_mismatch      reference a number or date of the Chinese (Arabic or Chinese numerals, 万/亿,
                                8月1日) missing or different in the English
dateline_missing     reference a news-agency dateline (新华社…电/讯, 塔斯社, 美联社…) in the Chinese
                                that the English does not name
alignment            alignment bead not 1-1, or an alignment cost far above the corpus's
truncated_hypothesis system    a system cut a sentence to fit its input limit
low_score            either    a system's chrF is an outlier (robust z) for that system; every system
                                low at once points at the reference, one of several at that system
consensus            reference with two or more systems: they agree with each other far better than
                                with the reference (robust z of the gap)
==================== ========= ====================================================================

Suspicion — how likely the *reference* translation is weak or misaligned — combines the flags
as independent evidence: ``1 − Π(1 − weight × strength)``, with the weights of ``JudgeParams``
(``strength`` ∈ [0, 1] grows with the z-score, or is 1 for categorical flags). Weights were set
on the injected-defect bench (bench/bench_judge.py) by one rule rather than per defect: a
categorical error (untranslated 0.95, a changed date 0.8, a name no Chinese characters read
like 0.65 — 0.52 when nothing matches at all, which may be a translator's gloss) alone crosses
the default threshold 0.5, and so does a statistical flag at full strength (omission 0.75,
addition, alignment and consensus 0.6: z about 3 above their thresholds), while one weak
statistical signal (strength 1/3 at its threshold: 0.2–0.25) does not; low_score 0.35 only
counts when every system is low at once. The name and sentence signals were added at the
weights of their families and the clean-corpus false alarms checked (bench/results/judge.md).

Fault: no flags → None; alignment evidence at least as strong as the reference evidence →
``alignment``; reference evidence ≥ ``fault_threshold`` → ``reference``; only system-side flags
(or reference evidence below 0.3 beside them) → ``system``; otherwise ``unclear``.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from evalkit.judge.names import check_names, reading_as_name
from evalkit.judge.numbers import (
    conflicting_date,
    describe_miss,
    english_numbers,
    rendered,
    zh_numbers,
)
from evalkit.judge.sentences import english_sentences, sentence_support
from evalkit.records import HypothesisRecord, ReferenceRecord

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution × this = its standard deviation

# News-agency datelines and how an English rendering names the agency.
_DATELINES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("新华社", re.compile(r"xinhua|new china news agency|ncna|hsinhua", re.I)),
    ("塔斯社", re.compile(r"\btass\b", re.I)),
    # The long forms in any case ("Associated Press"), the acronyms in capitals only ("up" is a word).
    ("美联社", re.compile(r"(?i:associated press)|\bAP\b")),
    ("合众社", re.compile(r"(?i:united press)|\bUP\b|\bUPI\b")),
    ("法新社", re.compile(r"agence france|\bAFP\b|french news agency", re.I)),
    ("路透社", re.compile(r"reuters?", re.I)),
)
_DATELINE_RE = re.compile(r"(?:据)?(新华社|塔斯社|美联社|合众社|法新社|路透社)[^。，；：]{0,24}?(?:电|讯)|（(新华社)）")


@dataclass(frozen=True)
class JudgeParams:
    """Thresholds and weights of the judge; the defaults are the documented ones."""

    z_flag: float = 2.5  # |robust z| at which low_score/consensus/alignment flag
    z_length: float = 2.0  # |robust z| at which omission/addition flag (the combined length model is tight)
    min_zh_chars: int = 20  # shorter paragraphs (headlines, signatures) are too noisy for length/score stats
    min_population: int = 5  # statistics need at least this many paragraphs to be learnt
    mad_floor_log_ratio: float = 0.03  # floors keep tiny or uniform corpora from exploding z-scores
    mad_floor_chrf: float = 3.0
    mad_floor_gap: float = 3.0
    mad_floor_support: float = 3.0  # chrF-precision points, for the sentence-support model
    min_sentence_chars: int = 25  # shorter English sentences ("Saigon dispatch:") are too noisy to score alone
    untranslated_min_han: int = 2  # Han characters in the English before it counts as untranslated
    system_untranslated_share: float = 0.3  # share of Han characters in a hypothesis to flag the system
    # The aligner's align_cost is about half a squared length z-score plus mismatch penalties
    # (numbers, quotes, brackets): 2.0 is roughly a 2σ length mismatch with nothing shared.
    high_align_cost: float = 2.0
    fault_threshold: float = 0.5
    weights: Mapping[str, float] = field(default_factory=lambda: {
        "untranslated": 0.95,
        "number_mismatch": 0.8,
        "dateline_missing": 0.55,
        "omission": 0.75,
        "addition": 0.6,
        "name_mismatch": 0.65,
        "alignment": 0.6,
        "consensus": 0.6,
        "low_score": 0.35,  # only when every system is low at once
    })


@dataclass(frozen=True, slots=True)
class Flag:
    name: str
    evidence: str
    strength: float = 1.0
    system: str | None = None  # set for flags about one system's output

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "evidence": self.evidence, "strength": round(self.strength, 3)}
        if self.system is not None:
            out["system"] = self.system
        return out


@dataclass(frozen=True, slots=True)
class Judgement:
    id: str
    flags: tuple[Flag, ...]
    suspicion: float
    fault: str | None
    signals: dict[str, float | None]  # the z-scores behind the flags, for reports

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "flags": [f.to_dict() for f in self.flags], "suspicion": round(self.suspicion, 4),
                "fault": self.fault, "signals": dict(self.signals)}


# --- robust statistics ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Robust:
    median: float
    scale: float  # MAD × 1.4826, floored

    def z(self, x: float) -> float:
        return (x - self.median) / self.scale


def robust(values: Sequence[float], floor: float, min_population: int) -> Robust | None:
    """Median and MAD-based scale of ``values``; None when there are too few to learn from."""
    if len(values) < min_population:
        return None
    med = statistics.median(values)
    mad = statistics.median(abs(v - med) for v in values)
    return Robust(med, max(mad * _MAD_TO_SIGMA, floor))


def _strength(z: float, threshold: float) -> float:
    # 0 below the threshold, rising linearly to 1 at threshold + 3.
    return max(0.0, min(1.0, (abs(z) - threshold) / 3.0 + 1.0 / 3.0)) if abs(z) >= threshold else 0.0


def _en_len(text: str) -> int:
    return len(re.sub(r"\s+", "", text))


def _zh_len(text: str) -> int:
    return len(re.sub(r"\s+", "", text))


# --- individual detectors (pure, one paragraph) -----------------------------------------------

def untranslated_flags(ref: ReferenceRecord, params: JudgeParams) -> list[Flag]:
    if not ref.en.strip():
        if ref.zh.strip() and ref.kind == "body":
            return [Flag("untranslated", f"no English for this Chinese paragraph ({ref.bead} bead)")]
        return []
    runs = _HAN.findall(ref.en)
    han = sum(len(r) for r in runs)
    if han < params.untranslated_min_han:
        return []
    share = han / max(1, _en_len(ref.en))
    sample = max(runs, key=len)
    sample = sample if len(sample) <= 24 else sample[:24] + "…"
    # A few stray characters (a name left in Chinese) are weaker evidence than a whole paragraph.
    strength = min(1.0, 0.5 + share)
    return [Flag("untranslated", f"Chinese left in the English: {sample!r} ({han} of {_en_len(ref.en)} characters)",
                 strength)]


def number_flags(ref: ReferenceRecord) -> list[Flag]:
    if not ref.en.strip() or not ref.zh.strip():
        return []
    items = zh_numbers(ref.zh)
    if not items:
        return []
    english = english_numbers(ref.en)
    missing = [item for item in items if not rendered(item, english)]
    if not missing:
        return []
    # A changed date is near-certain; a missing date or large number is strong; a missing small
    # number (两国, 五国) is weak: prose often leaves it implicit ("both", or lists the five).
    if any(conflicting_date(item, english) for item in missing):
        strength = 1.0
    elif any(item.kind != "number" or item.value >= 10 for item in missing):
        strength = 0.7
    else:
        strength = 0.25
    evidence = "; ".join(describe_miss(item, english) for item in missing[:4])
    if len(missing) > 4:
        evidence += f"; and {len(missing) - 4} more"
    return [Flag("number_mismatch", evidence, strength)]


def dateline_flags(ref: ReferenceRecord) -> list[Flag]:
    if not ref.en.strip():
        return []
    out = []
    for m in _DATELINE_RE.finditer(ref.zh):
        agency = m.group(1) or m.group(2)
        pattern = dict(_DATELINES)[agency]
        if not pattern.search(ref.en):
            out.append(Flag("dateline_missing", f"{m.group(0)} → the English does not name the agency"))
            break
    return out


def name_flags(ref: ReferenceRecord, outputs: Sequence[str] = ()) -> list[Flag]:
    """Person-shaped pinyin names of the English that no run of Chinese characters reads like.

    A name that some system output also writes is left alone: the systems found it in the
    Chinese too (a title the Chinese abbreviates, 周总理 → "Premier Zhou Enlai").
    """
    if not ref.en.strip() or not ref.zh.strip():
        return []
    misses = [c for c in check_names(ref.en, ref.zh)
              if not c.rendered and not any(c.name in out for out in outputs)]
    if not misses:
        return []
    parts = []
    near = False
    for c in misses[:3]:
        if c.matched >= 2 and c.matched >= len(c.syllables) - 1:
            # Most syllables match one run of characters: the same person, misspelt.
            near = True
            parts.append(f"{c.run} reads {reading_as_name(c.run_reading)!r}; the English has {c.name!r}")
        else:
            parts.append(f"{c.name!r} ({' '.join(c.syllables)}): no run of Chinese characters reads like it")
    # A near miss names the characters and the error; a name with no counterpart at all may
    # also be an explanatory addition of the translator, so it is slightly weaker evidence.
    return [Flag("name_mismatch", "; ".join(parts), 1.0 if near else 0.8)]


def alignment_flags(ref: ReferenceRecord, params: JudgeParams) -> list[Flag]:
    if ref.bead == "0-1" and (ref.kind == "headline_repeat" or ref.kind == "body"):
        # A repeated headline is expected; an untranslated body paragraph is flagged as untranslated.
        return []
    if ref.bead != "1-1":
        meaning = {"1-0": "English with no Chinese counterpart", "2-1": "two English paragraphs for one Chinese",
                   "1-2": "one English paragraph for two Chinese", "0-1": "Chinese with no English"}
        strength = 1.0 if ref.bead == "1-0" else 0.5
        return [Flag("alignment", f"bead {ref.bead}: {meaning.get(ref.bead, 'not one-to-one')}", strength)]
    if ref.align_cost >= params.high_align_cost:
        strength = min(1.0, 0.5 + (ref.align_cost - params.high_align_cost) / 4.0)
        return [Flag("alignment", f"alignment cost {ref.align_cost:.3g} (flagged from {params.high_align_cost:g})",
                     strength)]
    return []


# --- the corpus-level judge ---------------------------------------------------------------------

def _length_eligible(ref: ReferenceRecord, params: JudgeParams) -> bool:
    return ref.bead == "1-1" and _zh_len(ref.zh) >= params.min_zh_chars and _en_len(ref.en) > 0


def length_zscores(references: Sequence[ReferenceRecord], hyps: Mapping[str, Mapping[str, HypothesisRecord]],
                   params: JudgeParams) -> dict[str, float]:
    """Robust z-score of each eligible paragraph's English length against its predictors.

    Predictors: the Chinese length and every system's output length. For each, the log ratio
    log(len EN / len predictor) is learnt on the corpus (median, MAD scale σ); a paragraph's
    robust z-scores under each predictor are combined with weights 1/σ² (a system whose lengths
    track the reference closely — a good MT system — counts more than the Chinese length or a
    crude gloss): a weighted median with three or more predictors, so that one system's broken
    output cannot raise a flag alone, else a weighted mean. Combining z-scores (rather than raw
    deviations) keeps paragraphs comparable when some predictor is missing for them. Truncated
    or empty outputs do not predict.
    """
    eligible = [r for r in references if _length_eligible(r, params)]
    predictors: dict[str, dict[str, float]] = {"zh": {r.id: math.log(_en_len(r.en) / _zh_len(r.zh)) for r in eligible}}
    for s, by_id in hyps.items():
        predictors[s] = {r.id: math.log(_en_len(r.en) / _en_len(by_id[r.id].hyp)) for r in eligible
                         if r.id in by_id and _en_len(by_id[r.id].hyp) > 0 and not by_id[r.id].truncated}
    models = {p: robust(list(v.values()), params.mad_floor_log_ratio, params.min_population)
              for p, v in predictors.items()}
    combined: dict[str, float] = {}
    for r in eligible:
        zs = [(models[p].z(values[r.id]), 1.0 / models[p].scale ** 2)  # type: ignore[union-attr]
              for p, values in predictors.items() if models[p] is not None and r.id in values]
        if len(zs) >= 3:
            # Weighted median: one system's broken output cannot drag the paragraph's z alone.
            zs.sort()
            half = sum(w for _, w in zs) / 2
            acc = 0.0
            for z, w in zs:
                acc += w
                if acc >= half:
                    combined[r.id] = z
                    break
        elif zs:
            combined[r.id] = sum(z * w for z, w in zs) / sum(w for _, w in zs)
    return combined


@dataclass(frozen=True, slots=True)
class SentenceEvidence:
    """The English sentence least supported by any system output, for one paragraph."""

    index: int  # 0-based position among the paragraph's sentences
    sentence: str
    z: float  # robust z of its best support across systems (low: no output carries it)
    support: float  # that best chrF precision
    system: str
    median: float  # the corpus median support for that system


def sentence_zscores(references: Sequence[ReferenceRecord], hyps: Mapping[str, Mapping[str, HypothesisRecord]],
                     params: JudgeParams) -> dict[str, SentenceEvidence]:
    """Per eligible paragraph of two or more English sentences, its least supported sentence.

    For every system, the support of each sentence (``sentences.sentence_support``) is learnt
    on the corpus (median, MAD scale: a crude gloss supports less than a fluent system); a
    sentence's z under a system is its support against that model, and its evidence is the
    *highest* z over the systems — a sentence that any system's output carries is not invented.
    The paragraph's evidence is its lowest sentence. Truncated or empty outputs do not vote.
    """
    split = {r.id: english_sentences(r.en) for r in references if _length_eligible(r, params)}
    split = {i: [(k, s) for k, s in enumerate(ss) if len(s) >= params.min_sentence_chars]
             for i, ss in split.items() if len(ss) >= 2}
    support: dict[str, dict[str, list[float]]] = {}
    for s, by_id in hyps.items():
        support[s] = {i: [sentence_support(sent, by_id[i].hyp) for _k, sent in sents] for i, sents in split.items()
                      if i in by_id and by_id[i].hyp.strip() and not by_id[i].truncated}
    models = {s: robust([v for vals in by_id.values() for v in vals], params.mad_floor_support, params.min_population)
              for s, by_id in support.items()}
    out: dict[str, SentenceEvidence] = {}
    for i, sents in split.items():
        weakest: SentenceEvidence | None = None
        for j, (k, sent) in enumerate(sents):
            votes = [(models[s].z(support[s][i][j]), support[s][i][j], s) for s in support  # type: ignore[union-attr]
                     if models[s] is not None and i in support[s]]
            if not votes:
                continue
            z, value, s = max(votes)
            if weakest is None or z < weakest.z:
                weakest = SentenceEvidence(k, sent, z, value, s, models[s].median)  # type: ignore[union-attr]
        if weakest is not None:
            out[i] = weakest
    return out


def _pairwise_chrf(a: str, b: str) -> float:
    from sacrebleu.metrics import CHRF

    metric = CHRF()
    # chrF is asymmetric (recall-weighted); average both directions for a system–system similarity.
    return 0.5 * (metric.sentence_score(a, [b]).score + metric.sentence_score(b, [a]).score)


def addition_z(length_z: float, weak: SentenceEvidence | None) -> float:
    """Evidence of invented English: the length excess and, with system outputs, the least
    supported sentence.

    The two are independent robust z-scores, combined by Stouffer's method,
    (z_length − z_sentence) / √2: an appended sentence lengthens the paragraph only a little and
    matches no output only moderately, but both at once are rare in a faithful paragraph. The
    length z-score alone still counts when it is higher (a long addition inside one sentence);
    without sentence evidence (one-sentence paragraphs, no systems) it stands alone.
    """
    if weak is None:
        return length_z
    return max(length_z, (length_z - weak.z) / math.sqrt(2.0))


def addition_flag(ref: ReferenceRecord, length_z: float, combined: float, weak: SentenceEvidence | None,
                  systems: Sequence[str], outputs: Mapping[str, str], params: JudgeParams) -> Flag:
    sources = ", ".join(["the Chinese", *[s for s in systems if outputs.get(s, "").strip()]])
    evidence = (f"English longer than predicted from {sources}: {_en_len(ref.en)} characters for "
                f"{_zh_len(ref.zh)} Chinese, robust z {length_z:+.1f}")
    if weak is not None and combined > length_z:
        shown = weak.sentence if len(weak.sentence) <= 80 else weak.sentence[:80] + "…"
        evidence += (f"; sentence {weak.index + 1} {shown!r} matches no system output (best: {weak.system}, "
                     f"chrF precision {weak.support:.1f} against a median of {weak.median:.1f}, robust z "
                     f"{weak.z:+.1f}); combined z {combined:+.1f}")
    return Flag("addition", evidence, _strength(combined, params.z_length))


def judge(references: Sequence[ReferenceRecord],
          hyps: Mapping[str, Mapping[str, HypothesisRecord]],
          chrf: Mapping[str, Mapping[str, float]] | None = None,
          params: JudgeParams | None = None) -> list[Judgement]:
    """Judge every reference paragraph; one ``Judgement`` per record, in order.

    ``hyps``: system -> id -> hypothesis record. ``chrf``: system -> id -> paragraph chrF
    (the score stage's numbers; paragraphs without a score are simply absent).
    """
    params = params or JudgeParams()
    chrf = chrf or {}
    systems = list(hyps)

    eligible = [r for r in references if _length_eligible(r, params)]
    length_z = length_zscores(references, hyps, params)
    sentence_z = sentence_zscores(references, hyps, params)

    score_model: dict[str, Robust | None] = {}
    for s in systems:
        vals = [chrf.get(s, {})[r.id] for r in eligible if r.id in chrf.get(s, {})]
        score_model[s] = robust(vals, params.mad_floor_chrf, params.min_population)


    gaps: dict[str, float] = {}
    if len(systems) >= 2:
        for r in eligible:
            if not all(r.id in chrf.get(s, {}) and r.id in hyps[s] for s in systems):
                continue
            texts = [hyps[s][r.id].hyp for s in systems]
            pair_sims = [_pairwise_chrf(texts[i], texts[j]) for i in range(len(texts)) for j in range(i + 1, len(texts))]
            ref_sim = statistics.fmean(chrf[s][r.id] for s in systems)
            gaps[r.id] = statistics.fmean(pair_sims) - ref_sim
    gap_model = robust(list(gaps.values()), params.mad_floor_gap, params.min_population)

    out = []
    for r in references:
        flags: list[Flag] = []
        signals: dict[str, float | None] = {}
        rec_hyps = {s: hyps[s][r.id].hyp for s in systems if r.id in hyps[s]}

        flags += untranslated_flags(r, params)
        for s in systems:
            h = hyps[s].get(r.id)
            if h is None:
                continue
            if h.truncated:
                flags.append(Flag("truncated_hypothesis", f"{s}: a sentence was cut to fit the model's input limit "
                                  f"({h.chunks} chunk{'s' if h.chunks != 1 else ''})", 1.0, s))
            han = sum(len(x) for x in _HAN.findall(h.hyp))
            if h.hyp and han / max(1, _en_len(h.hyp)) >= params.system_untranslated_share:
                flags.append(Flag("untranslated", f"{s}: output is mostly Chinese ({han} of {_en_len(h.hyp)} characters)",
                                  1.0, s))
        flags += number_flags(r)
        flags += dateline_flags(r)
        flags += name_flags(r, list(rec_hyps.values()))

        flags += alignment_flags(r, params)

        if _length_eligible(r, params):
            z = length_z.get(r.id)
            signals["length_z"] = z
            weak = sentence_z.get(r.id)
            signals["sentence_z"] = weak.z if weak is not None else None
            if z is not None and z <= -params.z_length:
                sources = ", ".join(["the Chinese", *[s for s in systems if rec_hyps.get(s, "").strip()]])
                flags.append(Flag("omission", f"English shorter than predicted from {sources}: {_en_len(r.en)} "
                                  f"characters for {_zh_len(r.zh)} Chinese, robust z {z:+.1f}",
                                  _strength(z, params.z_length)))
            elif z is not None:
                signals["addition_z"] = za = addition_z(z, weak)
                if za >= params.z_length:
                    flags.append(addition_flag(r, z, za, weak, systems, rec_hyps, params))

            lows = []
            for s in systems:
                model = score_model.get(s)
                value = chrf.get(s, {}).get(r.id)
                if model is None or value is None:
                    continue
                z_s = model.z(value)
                signals[f"chrf_z[{s}]"] = z_s
                if z_s <= -params.z_flag:
                    lows.append((s, value, model.median, z_s))
            scored = [s for s in systems if score_model.get(s) is not None and r.id in chrf.get(s, {})]
            if lows:
                all_low = len(lows) == len(scored)
                for s, value, med, z_s in lows:
                    flags.append(Flag("low_score", f"{s}: chrF {value:.1f} against a median of {med:.1f} "
                                      f"(robust z {z_s:+.1f})" + ("" if all_low else "; other systems are not low"),
                                      _strength(z_s, params.z_flag), None if all_low else s))

            if r.id in gaps and gap_model is not None:
                zg = gap_model.z(gaps[r.id])
                signals["consensus_z"] = zg
                if zg >= params.z_flag:
                    flags.append(Flag("consensus", f"systems agree with each other {gaps[r.id]:+.1f} chrF more than "
                                      f"with the reference (corpus median {gap_model.median:+.1f}, robust z {zg:+.1f})",
                                      _strength(zg, params.z_flag)))

        suspicion, fault = assess(flags, params)
        out.append(Judgement(r.id, tuple(flags), suspicion, fault, signals))
    return out


def assess(flags: Sequence[Flag], params: JudgeParams) -> tuple[float, str | None]:
    """Suspicion of the reference and the likely fault from a paragraph's flags (see module doc)."""
    if not flags:
        return 0.0, None
    ref_keep = align_keep = 1.0
    system_side = 0
    for f in flags:
        if f.system is not None or f.name == "truncated_hypothesis":
            system_side += 1
            continue
        w = params.weights.get(f.name, 0.0) * f.strength
        if f.name == "alignment":
            align_keep *= 1.0 - w
        else:
            ref_keep *= 1.0 - w
    ref_part, align_part = 1.0 - ref_keep, 1.0 - align_keep
    suspicion = 1.0 - ref_keep * align_keep
    if align_part > 0 and align_part >= ref_part:
        fault = "alignment"
    elif ref_part >= params.fault_threshold:
        fault = "reference"
    elif system_side and ref_part < 0.3:
        fault = "system"
    else:
        fault = "unclear"
    return suspicion, fault


def params_as_dict(params: JudgeParams) -> dict[str, Any]:
    out = asdict(params)
    out["weights"] = dict(params.weights)
    return out
