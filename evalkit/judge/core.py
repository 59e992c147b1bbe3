"""The divergence judge: per paragraph, flags with evidence, a reference-suspicion score and a fault.

Pure functions over records: ``judge(references, hyps, chrf)`` reads nothing and writes nothing. It runs
in two passes, which the report stage streams: ``CorpusModel.add`` learns the corpus statistics
(a few numbers per paragraph), then ``judge_paragraph`` judges one paragraph at a time. Both
passes' per-paragraph work can run in other processes (``features_chunk`` / ``judge_chunk``, on
consecutive paragraphs): pass 1's ``paragraph_features`` are folded into the model in order,
and pass 2 needs only the model's ``shard`` for its paragraphs; the report stage runs them
through ``evalkit.shard`` (a local pool or Ray), with the same judgements.

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
                                renderings tolerated; abstains on foreign names and contexts, see
                                judge.names): 沈兹九 → "Shen Ziqing"
number_mismatch      reference a quantity the English gives another value — the same unit, the same
                                digits at another scale, the same month with another day (judge.quantities):
                                两万 (20,000) ↔ 'Two million' (2,000,000)
number_missing       reference a quantity or date of the Chinese the English does not state at all
                                (weak: translators drop redundant counts and dates)
dateline_missing     reference a news-agency dateline (新华社…电/讯, 塔斯社, 美联社…) or the paper's
                                source line (本报讯) in the Chinese, and no agency or source in the English
cut_short            reference the English stops mid-sentence where the Chinese closes its sentence,
                                or is a broken-off fragment ("Not") with no Chinese
document_short       reference the whole document's English far shorter than its Chinese predicts (robust z
                                of the document's length ratio): a translation that stops early; on
                                the paragraph where its English ends and those after it
sentence_addition    reference an English sentence few of whose words are in any dictionary sense of
                                the Chinese (judge.lexicon), far below the corpus (robust z)
sentence_omission    reference a Chinese sentence few of whose dictionary words the English renders
alignment            alignment bead not 1-1, or an alignment cost far above the corpus's
truncated_hypothesis system    a system cut a sentence to fit its input limit
low_score            either    a system's chrF is an outlier (robust z) for that system; every system
                                low at once points at the reference, one of several at that system
consensus            reference with two or more systems: they agree with each other far better than
                                with the reference (robust z of the gap)
low_qe               reference with reference QE in the run (judge.qe): the reference-free score of
                                (Chinese, archive English), CometKiwi or LaBSE, far below the corpus
                                (robust z), or a sentence the LaBSE localisation finds no counterpart
                                for on the other side; the weakest such sentence is named
==================== ========= ====================================================================

Suspicion — the probability that the *reference* paragraph is defective — is a noisy-OR of the
flags' strengths whose weights were fitted on the calibration fold of the labelled real-defect
set (judge.suspicion; reference/labelled/, bench/fit_suspicion.py): 1 − (1 − leak) Π(1 − wₖxₖ).
``suspicion ≥ 0.5`` means "more likely defective than not" on files like the archive's; the test
fold's precision and recall at 0.5 are in bench/results/judge.md.

Fault — who is likely to blame — combines the flags with the documented weights of
``JudgeParams.weights`` (1 − Π(1 − weight × strength), reference-side and alignment evidence
apart): no flags → None; alignment evidence at least as strong as the reference evidence →
``alignment``; reference evidence ≥ ``fault_threshold`` → ``reference``; only system-side flags
(or reference evidence below 0.3 beside them) → ``system``; otherwise ``unclear``.
"""

from __future__ import annotations

import functools
import math
import re
import statistics
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from evalkit.judge.lexicon import chinese_coverage, chinese_sentences, english_coverage, sense_bag
from evalkit.judge.lexicon import prepare as prepare_lexicon
from evalkit.judge.names import NameCheck, check_names, near_miss, reading_as_name
from evalkit.judge.names import prepare as prepare_names
from evalkit.judge.ngrams import NGrams, char_ngrams, match_statistics
from evalkit.judge.qe import NO_QE, QEFeatures, qe_features, score_evidence, sentence_evidence, weakest_sentence
from evalkit.judge.quantities import compare as compare_quantities
from evalkit.judge.quantities import EN_DATELINE_OPENING, dateline_month_conflict
from evalkit.judge.quantities import zh_quantities
from evalkit.judge.suspicion import feature_vector, load_model
from evalkit.judge.sentences import (
    _precision_metric,
    english_sentences,
    sentence_ngrams,
    sentence_supports_ngrams,
)
from evalkit.records import HypothesisRecord, ReferenceRecord

if TYPE_CHECKING:
    from evalkit.metrics.neural import ReferenceQE

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
    # The paper's own source line (本报讯, 本报北京五日电).
    ("本报", re.compile(r"people'?s daily|this (?:news)?paper|our (?:own )?(?:news)?paper|our (?:own |special )?"
                      r"(?:correspondent|reporter|staff|dispatch|report)|(?:staff|special) (?:reporter|correspondent)",
                      re.I)),
)
# The agencies as alternations for the patterns below, and each one's bit in an agency mask.
_ALL_SOURCES = "|".join(name for name, _p in _DATELINES)
_AGENCIES = "|".join(name for name, _p in _DATELINES if name != "本报")
_AGENCY_BIT = {name: 1 << k for k, (name, _p) in enumerate(_DATELINES)}
# A source cited inside a dispatch: 据塔斯社莫斯科九月三十日讯.
_CITED_RE = re.compile(rf"据({_AGENCIES})[^。，；：]{{0,24}}?(?:电|讯|报道)")
_AGENCY_NAMES = {"新华社": "Xinhua", "塔斯社": "TASS", "美联社": "AP", "合众社": "UP", "法新社": "AFP", "路透社": "Reuters",
                 "本报": "the paper"}
_DATELINE_RE = re.compile(rf"(?:据)?({_ALL_SOURCES})[^。，；：]{{0,24}}?(?:电|讯)"
                          r"|（(新华社)）")


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
    mad_floor_coverage: float = 0.05  # share of words, for the dictionary-coverage models
    # Coverage is noisy (paraphrase, idiom): its distribution is learnt only from this many sentences.
    min_coverage_sentences: int = 40
    min_document_chars: int = 200  # Chinese characters a document needs for its length to be judged
    z_document: float = 3.0  # |robust z| of a document's length at which its body paragraphs flag
    min_sentence_chars: int = 25  # shorter English sentences ("Saigon dispatch:") are too noisy to score alone
    untranslated_min_han: int = 2  # Han characters in the English before it counts as untranslated
    system_untranslated_share: float = 0.3  # share of Han characters in a hypothesis to flag the system
    # The aligner's align_cost is about half a squared length z-score plus mismatch penalties
    # (numbers, quotes, brackets): 2.0 is roughly a 2σ length mismatch with nothing shared.
    high_align_cost: float = 2.0
    # Reference QE (judge.qe; only where the run has it): the metric used, first found of these;
    # |robust z| at which a paragraph's score flags low_qe, at which one sentence's best match
    # flags it alone, and from which that sentence is named in the evidence; the scale floors.
    qe_metrics: tuple[str, ...] = ("cometkiwi", "labse")
    z_qe: float = 2.5
    z_qe_sentence: float = 3.0
    z_qe_sentence_evidence: float = 2.0
    mad_floor_qe: float = 0.02  # COMET and LaBSE scores are on a 0-1 scale
    mad_floor_qe_sentence: float = 0.02
    fault_threshold: float = 0.5
    # The fitted suspicion model (judge.suspicion): None is the one packaged with evalkit.
    suspicion_model: str | None = None
    weights: Mapping[str, float] = field(default_factory=lambda: {
        "untranslated": 0.95,
        "number_mismatch": 0.8,
        "number_missing": 0.3,
        "cut_short": 0.7,
        "document_short": 0.5,
        "dateline_missing": 0.55,
        "omission": 0.75,
        "addition": 0.6,
        "sentence_addition": 0.5,
        "sentence_omission": 0.5,
        "name_mismatch": 0.65,
        "alignment": 0.6,
        "consensus": 0.6,
        "low_score": 0.35,  # only when every system is low at once
        "low_qe": 0.3,
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
    features: tuple[float, ...] = ()  # the suspicion model's inputs (judge.suspicion.FEATURES)

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
    # Characters other than whitespace. str.split() and the regex \s agree on what whitespace is
    # (both str.isspace()); splitting is ~5x faster than re.sub, and this runs several times per
    # paragraph and system.
    return len("".join(text.split()))


def _zh_len(text: str) -> int:
    return len("".join(text.split()))


# --- individual detectors (pure, one paragraph) -----------------------------------------------

def _repeats_headline(ref: ReferenceRecord) -> bool:
    """A Chinese body line that only repeats decks of the headline (the English has them in its
    title): not a paragraph left untranslated, even where the aligner did not mark it so."""
    title = "".join(str(ref.meta.get("title_zh", "")).split())
    line = "".join(ref.zh.split())
    return len(line) >= 4 and line in title


# A Chinese line that is only a credit or source: （据新华社讯）, （新华社稿）, 本报讯.
_CREDIT_LINE = re.compile(rf"[（(【\[]?据?({_ALL_SOURCES})[^）)】\]。]{{0,12}}[）)】\]]?")


def _credit_named_elsewhere(zh: str, named_agencies: int) -> bool:
    """A Chinese credit line whose agency the document's English names on another line (the
    translator moved （据新华社讯） from the end to the top): nothing is missing."""
    m = _CREDIT_LINE.fullmatch("".join(zh.split()))
    if m is None:
        return False
    return bool(named_agencies & _AGENCY_BIT[m.group(1)])


# A character the English cites on purpose, quoted and romanised: the character "要" (yao), "武" (Wu).
_CITED_CHARACTER = re.compile(r"[\"“‘'][\u3400-\u9fff]{1,4}[\"”’']\s*\([A-Za-z][a-zü'’ -]{0,30}\)")


def untranslated_flags(ref: ReferenceRecord, params: JudgeParams, named_agencies: int = 0) -> list[Flag]:
    """Chinese left in the English, or a Chinese body paragraph with no English (``named_agencies``:
    the agencies the document's English names, so that a credit line moved elsewhere is not missing).
    A character quoted and romanised ("要" (yao)) is cited, as an essay on learning to read cites it."""
    if not ref.en.strip():
        if (ref.zh.strip() and ref.kind == "body" and not _repeats_headline(ref)
                and not _credit_named_elsewhere(ref.zh, named_agencies)):
            return [Flag("untranslated", f"no English for this Chinese paragraph ({ref.bead} bead)")]
        return []
    runs = _HAN.findall(_CITED_CHARACTER.sub(" ", ref.en))
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
    """``number_mismatch`` for quantities the English gives another value (a conflict, strong), and
    ``number_missing`` for those it does not state at all (an absence, weak: translators drop
    redundant dates and counts). See judge.quantities."""
    if not ref.en.strip() or not ref.zh.strip():
        return []
    dateline = _DATELINE_RE.search(ref.zh)
    en = ref.en
    if dateline is None and (opening := EN_DATELINE_OPENING.match(en)):
        # An English dateline with no Chinese one (moved up from the paragraph below, as
        # "Xinhua News Agency, September 30th: …" opening a heading): its date renders none of
        # this paragraph's quantities, so it is not compared with them.
        en = en[opening.end():]
    findings = compare_quantities(ref.zh, en)
    flags = []
    conflicts = [f.evidence() for f in findings if f.kind == "conflict"]
    if dateline and (wrong := dateline_month_conflict(dateline.group(0), str(ref.meta.get("date", "")), ref.en)):
        conflicts.append(wrong)
    if conflicts:
        flags.append(Flag("number_mismatch", _listed(conflicts), 1.0))
    absent = [f for f in findings if f.kind == "absence"]
    if absent:
        # A date or a large count carries more than a small count (两国, 三人), which prose often
        # leaves implicit ("both", or by listing the three).
        big = any(f.chinese.kind in ("date", "year", "month", "percent", "fraction") or f.chinese.high >= 10
                  for f in absent)
        flags.append(Flag("number_missing", _listed([f.evidence() for f in absent]), 0.6 if big else 0.25))
    return flags


def _listed(parts: Sequence[str], limit: int = 4) -> str:
    text = "; ".join(parts[:limit])
    return text + (f"; and {len(parts) - limit} more" if len(parts) > limit else "")


_CLOSED_ZH = "。！？…”」』）)"
_OPEN_EN = re.compile(r"[\w,;(\[—–-]$")
# Words a sentence cannot end on: an English fragment ending in one broke off ("Not", "In the").
_FUNCTION_WORDS = frozenset("a an the of in on at to for from by with and or but not no as that which who this these "
                            "its their his her our according since after before during under over into".split())


def cut_short_flags(ref: ReferenceRecord, last_english: bool = True) -> list[Flag]:
    """``cut_short``: the English stops mid-sentence — a body paragraph whose Chinese closes its
    sentence (。！？…, a closing quote) while the English ends on a word or a comma, or an English
    fragment of a few words with no Chinese at all (the first words of a translation that broke
    off: one ending on a function word anywhere, one ending on a comma only where the document's
    English ends, ``last_english`` — elsewhere it is a salutation or a verse line left unpaired)."""
    en = ref.en.strip()
    if ref.kind != "body" or not en or not _OPEN_EN.search(en):
        return []
    zh = ref.zh.strip()
    tail = en if len(en) <= 40 else "…" + en[-40:]
    if not zh:
        words = en.split()
        if len(words) <= 4 and (words[-1].lower().strip(",") in _FUNCTION_WORDS or (en.endswith(",") and last_english)):
            return [Flag("cut_short", f"an English fragment {tail!r} with no Chinese: a translation that broke off")]
        return []
    if zh[-1] in _CLOSED_ZH:
        return [Flag("cut_short", f"the English ends {tail!r} without closing its sentence; the Chinese ends "
                                  f"{zh[-12:]!r}")]
    return []


def dateline_flags(ref: ReferenceRecord, moved_credits: int = 0) -> list[Flag]:
    """A news-agency dateline or the paper's source line (新华社…电, 本报讯) the English does not name.

    An English that names another agency keeps a dateline (a wrong agency is a name error, not a
    dropped line), so only an English naming no agency or source at all is flagged; so is an
    agency the document's English names on a line of its own or in the paragraph before while that
    paragraph's Chinese does not (``moved_credits``, a bit mask: "Xinhua News Agency" above the text
    for a closing （新华社）, "Xinhua News Agency, September 30th: …" opening the heading above).
    """
    if not ref.en.strip():
        return []
    m = _DATELINE_RE.search(ref.zh)
    if m is None:
        return []
    named = {agency for agency, pattern in _DATELINES if pattern.search(ref.en)}
    if named:
        # A dispatch that cites another agency (【新华社一日讯】据塔斯社莫斯科讯): the English must name
        # the cited one too, or the report reads as the first agency's own.
        cited = [c for c in _CITED_RE.finditer(ref.zh) if c.group(1) not in named]
        if not cited:
            return []
        return [Flag("dateline_missing", f"{cited[0].group(0)} → the English names "
                                         f"{_AGENCY_NAMES[min(named)]} but not the source it cites",
                     0.8)]
    agency = m.group(1) or m.group(2)
    if moved_credits & _AGENCY_BIT[agency]:
        return []
    opening = " ".join(ref.en.split())
    opening = opening if len(opening) <= 48 else opening[:48] + "…"
    return [Flag("dateline_missing", f"{m.group(0)} → the English opens {opening!r} and names no "
                                     f"{'source' if agency == '本报' else 'agency'}")]


def name_flags(ref: ReferenceRecord, outputs: Sequence[str] = (), checks: Sequence[NameCheck] | None = None) -> list[Flag]:
    """Person-shaped pinyin names of the English that no run of Chinese characters reads like.

    A name that some system output also writes is left alone: the systems found it in the
    Chinese too (a title the Chinese abbreviates, 周总理 → "Premier Zhou Enlai"); so is one the
    check abstains on (a foreign name or context, judge.names). ``checks``: ``check_names``'s
    result, when the caller has it.
    """
    if not ref.en.strip() or not ref.zh.strip():
        return []
    if checks is None:
        checks = check_names(ref.en, ref.zh)
    misses = [c for c in checks if not c.rendered and not c.abstained and not any(c.name in out for out in outputs)]
    if not misses:
        return []
    parts = []
    near = False
    for c in misses[:3]:
        if near_miss(c.matched, c.syllables):
            near = True
            parts.append(f"{c.run} reads {reading_as_name(c.run_reading, ' ' not in c.name)!r}; "
                         f"the English has {c.name!r}")
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


@dataclass(frozen=True, slots=True)
class SentenceEvidence:
    """The English sentence least supported by any system output, for one paragraph."""

    index: int  # 0-based position among the paragraph's sentences
    sentence: str
    z: float  # robust z of its best support across systems (low: no output carries it)
    support: float  # that best chrF precision
    system: str
    median: float  # the corpus median support for that system


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


def _pairwise_chrf_ngrams(ngrams: Sequence[NGrams]) -> list[float]:
    """chrF similarity of every pair of texts given as their ``ngrams.NGrams`` (i < j, in order),
    averaged over both directions.

    chrF is asymmetric (recall-weighted), so each pair is scored both ways, exactly as
    ``CHRF().sentence_score(a, [b])`` and ``(b, [a])`` do — but each text's character n-grams are
    extracted once rather than once per direction and pair (the judge's hot spot with several
    systems). The statistics are sacrebleu's integers (``ngrams.match_statistics``) and the
    score its own ``_compute_f_score`` of them.
    """
    f_score = _chrf_metric()._compute_f_score

    def score(h: int, r: int) -> float:
        return float(f_score(match_statistics(ngrams[h], ngrams[r])))

    return [0.5 * (score(i, j) + score(j, i)) for i in range(len(ngrams)) for j in range(i + 1, len(ngrams))]


@functools.lru_cache(maxsize=1)
def _chrf_metric() -> Any:
    from sacrebleu.metrics import CHRF

    return CHRF()


def _length_eligible_values(ref: ReferenceRecord, hyps: Mapping[str, HypothesisRecord],
                            systems: Sequence[str]) -> list[tuple[str | None, float]]:
    """log(len EN / len predictor) for the Chinese (``None``) and each system whose output predicts."""
    en = _en_len(ref.en)
    out: list[tuple[str | None, float]] = [(None, math.log(en / _zh_len(ref.zh)))]
    for s in systems:
        h = hyps.get(s)
        if h is not None and _en_len(h.hyp) > 0 and not h.truncated:
            out.append((s, math.log(en / _en_len(h.hyp))))
    return out


def _scored_sentences(ref: ReferenceRecord, params: JudgeParams) -> list[tuple[int, str]] | None:
    """The English sentences the sentence-support model scores (None: fewer than two sentences)."""
    sentences = english_sentences(ref.en)
    if len(sentences) < 2:
        return None
    return [(k, x) for k, x in enumerate(sentences) if len(x) >= params.min_sentence_chars]


# A paragraph's pass-1 numbers (``paragraph_features``): plain tuples, cheap to send between
# processes. (length log-ratios by predictor, chrF by system — both empty unless the paragraph
# is length-eligible —, sentence supports by system, consensus gap or NaN, the dictionary
# coverage of its English and of its Chinese sentences, judge.lexicon, its document's part, and
# its reference QE, judge.qe: ``NO_QE`` unless the run has QE and the paragraph is length-eligible.)
Features = tuple[tuple[tuple[str | None, float], ...], tuple[tuple[str, float], ...],
                 tuple[tuple[str, list[float]], ...], float, tuple[float, ...], tuple[float, ...],
                 tuple[str, int, int, int, int], QEFeatures]


def _agencies(text: str) -> int:
    """The news agencies (and the paper itself) an English text names, as a bit mask of _DATELINES."""
    return sum(1 << k for k, (_agency, pattern) in enumerate(_DATELINES) if pattern.search(text))


def _document_part(ref: ReferenceRecord) -> tuple[str, int, int, int, int, int]:
    """What a record adds to its document: (document id, English characters, Chinese characters of
    a body record, agencies named by an English line with no Chinese — a credit moved to its own
    line, as "Xinhua News Agency" above or below the text —, agencies its English names at all,
    agencies its English names and its Chinese does not — a dateline moved up into a heading)."""
    named = _agencies(ref.en) if ref.en.strip() else 0
    moved = named if not ref.zh.strip() else 0
    unsourced = named & ~sum(_AGENCY_BIT[name] for name in set(re.findall(_ALL_SOURCES, ref.zh)))
    if ref.kind != "body":
        return ref.doc_id, 0, 0, moved, named, unsourced
    return ref.doc_id, _en_len(ref.en), _zh_len(ref.zh), moved, named, unsourced


def _coverages(ref: ReferenceRecord) -> tuple[list[float | None], list[float | None]]:
    """The dictionary coverage of each English and each Chinese sentence (judge.lexicon)."""
    bag = sense_bag(ref.zh)
    return (english_coverage(english_sentences(ref.en), bag),
            chinese_coverage(chinese_sentences(ref.zh), ref.en))


def paragraph_features(ref: ReferenceRecord, hyps: Mapping[str, HypothesisRecord], chrf: Mapping[str, float],
                       systems: Sequence[str], params: JudgeParams, qe: ReferenceQE | None = None) -> Features:
    """Pass 1's work on one paragraph (``hyps`` and ``chrf`` by system; absent: none; ``qe``: its
    reference QE, judge.qe, when the run has it): what ``CorpusModel.fold`` learns from it. Pure,
    so paragraphs can be worked on anywhere (a pool, a Ray cluster) and folded in order."""
    document = _document_part(ref)
    if not _length_eligible(ref, params):
        return (), (), (), math.nan, (), (), document, NO_QE
    lengths = tuple(_length_eligible_values(ref, hyps, systems))
    en_cov, zh_cov = _coverages(ref)
    # Each system output's n-grams are extracted once, for the sentence supports and the consensus gap.
    ngrams: dict[str, NGrams] = {}

    def grams(s: str) -> NGrams:
        if s not in ngrams:
            ngrams[s] = char_ngrams(hyps[s].hyp)
        return ngrams[s]

    supports: list[tuple[str, list[float]]] = []
    sents = _scored_sentences(ref, params)
    voters = [s for s in systems if (h := hyps.get(s)) is not None and h.hyp.strip() and not h.truncated]
    if sents is not None and voters:
        sentence_grams = sentence_ngrams([x for _k, x in sents])  # once for all systems
        supports = [(s, sentence_supports_ngrams(sentence_grams, grams(s))) for s in voters]
    scores = tuple((s, chrf[s]) for s in systems if s in chrf)
    gap = math.nan
    if len(systems) >= 2 and all(s in chrf and s in hyps for s in systems):
        pair_sims = _pairwise_chrf_ngrams([grams(s) for s in systems])
        gap = statistics.fmean(pair_sims) - statistics.fmean(chrf[s] for s in systems)
    return (lengths, scores, tuple(supports), gap, tuple(c for c in en_cov if c is not None),
            tuple(c for c in zh_cov if c is not None), document, qe_features(qe))


class CorpusModel:
    """The judge's corpus-level statistics, learnt in one streaming pass (pass 1 of ``judge``).

    Per paragraph it keeps only numbers, in compact ``array('d')`` buffers: the length log-ratios
    and chrF scores its medians need, each system's sentence supports (the costly chrF-precision
    calls, so pass 2 does not repeat them) and the consensus gap. Pass 2 (``judge_paragraph``)
    recomputes the cheap per-paragraph values from the record and reads the stored ones by the
    paragraph's ordinal, so paragraphs must come in the same order in both passes.

    Pass 1 is ``add`` = ``fold(paragraph_features(...))``: the per-paragraph work is a pure
    function, so it can run in other processes as long as the features are folded in order.
    Pass 2 can run elsewhere too: ``shard(start, stop)`` is a small copy that judges the
    paragraphs with ordinals ``start`` to ``stop - 1`` (the learnt models and only their stored
    numbers).

    How the length, sentence and consensus evidence is built (the module docstring has the flags):

    * length: for the Chinese length and every system's output length, log(len EN / len predictor)
      is learnt on the corpus (median, MAD scale σ); a paragraph's robust z-scores under each
      predictor are combined with weights 1/σ² (a system whose lengths track the reference
      closely counts more than the Chinese length or a crude gloss): a weighted median with three
      or more predictors, so that one system's broken output cannot raise a flag alone, else a
      weighted mean. Truncated or empty outputs do not predict.
    * sentences: for every system, the support of each English sentence
      (``sentences.sentence_support``) is learnt on the corpus; a sentence's evidence is its
      *highest* z over the systems (a sentence any output carries is not invented), and the
      paragraph's is its lowest sentence. Truncated or empty outputs do not vote.
    * reference QE (judge.qe, only where the run has it): each QE metric's paragraph scores and
      the sentences' best-match similarities are learnt on the corpus (median, MAD scale); pass 2
      reads the paragraph's own QE record again, so nothing per paragraph is stored for it.
    """

    def __init__(self, systems: Sequence[str], params: JudgeParams):
        self.systems = list(systems)
        self.params = params
        self._base = 0  # the ordinal of the first paragraph whose numbers are kept (``shard``)
        self._length: dict[str | None, array[float]] = {None: array("d"), **{s: array("d") for s in self.systems}}
        self._chrf: dict[str, array[float]] = {s: array("d") for s in self.systems}
        self._support: dict[str, array[float]] = {s: array("d") for s in self.systems}
        # Where each paragraph's supports end in ``_support`` (they start where the previous one's
        # end; none: it had no vote).
        self._support_end: dict[str, array[int]] = {s: array("q") for s in self.systems}
        self._gap = array("d")  # NaN: no consensus gap for this paragraph
        # Dictionary coverage (judge.lexicon): every scored sentence's, to learn each side's
        # distribution, and each paragraph's lowest (NaN: none scored).
        self._coverage: dict[str, array[float]] = {"en": array("d"), "zh": array("d")}
        self._lowest: dict[str, array[float]] = {"en": array("d"), "zh": array("d")}
        self.coverage_models: dict[str, Robust | None] = {}
        # Documents: each paragraph's document (an index), and each document's English and
        # Chinese characters; after ``finish``, each document's length z-score (NaN: too short).
        self._doc_of = array("q")
        self._doc_index: dict[str, int] = {}
        self._doc_chars: list[list[int]] = []
        self._doc_z: dict[int, float] = {}
        self._doc_credits: dict[int, int] = {}  # agencies named on English lines of their own
        self._doc_named: dict[int, int] = {}  # agencies the document's English names anywhere
        self._doc_last_en: dict[int, int] = {}  # the ordinal of the document's last paragraph with English
        # Per paragraph, the agencies the English of the paragraph before it (in its document)
        # names and its Chinese does not (a dateline the English moved up into a heading); the
        # last paragraph's own, for the next one.
        self._unsourced_before = array("q")
        self._last_unsourced = 0
        self.document_model: Robust | None = None
        self.length_models: dict[str | None, Robust | None] = {}
        self.support_models: dict[str, Robust | None] = {}
        self.score_models: dict[str, Robust | None] = {}
        self.gap_model: Robust | None = None
        # Reference QE (judge.qe): every eligible paragraph's score by metric and every localised
        # sentence's best-match similarity by side, until ``finish`` learns their models.
        self._qe: dict[str, array[float]] = {}
        self._qe_sentences: dict[str, array[float]] = {"en": array("d"), "zh": array("d")}
        self.qe_models: dict[str, Robust | None] = {}
        self.qe_sentence_models: dict[str, Robust | None] = {}

    def add(self, ref: ReferenceRecord, hyps: Mapping[str, HypothesisRecord], chrf: Mapping[str, float],
            qe: ReferenceQE | None = None) -> None:
        """Pass 1: learn from one paragraph (``hyps`` and ``chrf`` by system; absent: none; ``qe``:
        its reference QE, when the run has it)."""
        self.fold(paragraph_features(ref, hyps, chrf, self.systems, self.params, qe))

    def fold(self, features: Features) -> None:
        """Pass 1: learn from the next paragraph's ``paragraph_features``."""
        lengths, scores, supports, gap, en_cov, zh_cov, document, *rest = features
        doc_id, en_chars, zh_chars, moved, named, unsourced = document
        (qe_scores, qe_en, qe_zh) = rest[0] if rest else NO_QE
        for metric, value in qe_scores:
            self._qe.setdefault(metric, array("d")).append(value)
        self._qe_sentences["en"].extend(qe_en)
        self._qe_sentences["zh"].extend(qe_zh)
        k = self._doc_index.setdefault(doc_id, len(self._doc_chars))
        if k == len(self._doc_chars):
            self._doc_chars.append([0, 0])
        self._doc_chars[k][0] += en_chars
        self._doc_chars[k][1] += zh_chars
        if moved:
            self._doc_credits[k] = self._doc_credits.get(k, 0) | moved
        if named:
            self._doc_named[k] = self._doc_named.get(k, 0) | named
        if en_chars:
            self._doc_last_en[k] = self._base + len(self._doc_of)
        self._unsourced_before.append(self._last_unsourced if self._doc_of and self._doc_of[-1] == k else 0)
        self._last_unsourced = unsourced
        self._doc_of.append(k)
        for side, values in (("en", en_cov), ("zh", zh_cov)):
            self._coverage[side].extend(values)
            self._lowest[side].append(min(values) if values else math.nan)
        for predictor, value in lengths:
            self._length[predictor].append(value)
        for s, value in scores:
            self._chrf[s].append(value)
        for s, values in supports:
            self._support[s].extend(values)
        for s in self.systems:
            self._support_end[s].append(len(self._support[s]))
        self._gap.append(gap)

    def finish(self) -> CorpusModel:
        """Learn the robust models from what ``add`` collected."""
        p = self.params
        self.length_models = {k: robust(v, p.mad_floor_log_ratio, p.min_population) for k, v in self._length.items()}
        self.support_models = {s: robust(v, p.mad_floor_support, p.min_population) for s, v in self._support.items()}
        self.score_models = {s: robust(v, p.mad_floor_chrf, p.min_population) for s, v in self._chrf.items()}
        self.gap_model = robust([g for g in self._gap if not math.isnan(g)], p.mad_floor_gap, p.min_population)
        self.coverage_models = {side: robust(v, p.mad_floor_coverage, p.min_coverage_sentences)
                                for side, v in self._coverage.items()}
        # A document's English length against its Chinese, like a paragraph's: a translation
        # that stops early leaves the whole document short.
        ratios = {k: math.log(en / zh) for k, (en, zh) in enumerate(self._doc_chars)
                  if zh >= p.min_document_chars and en > 0}
        self.document_model = robust(list(ratios.values()), p.mad_floor_log_ratio, p.min_population)
        if self.document_model is not None:
            self._doc_z = {k: self.document_model.z(r) for k, r in ratios.items()}
        self.qe_models = {m: robust(v, p.mad_floor_qe, p.min_population) for m, v in self._qe.items()}
        self.qe_sentence_models = {side: robust(v, p.mad_floor_qe_sentence, p.min_coverage_sentences)
                                   for side, v in self._qe_sentences.items() if v}
        self._qe = {}
        self._qe_sentences = {side: array("d") for side in self._qe_sentences}
        self._doc_index = {}
        self._doc_chars = []
        # The collected values are not needed once the models are learnt.
        self._length = {k: array("d") for k in self._length}
        self._chrf = {s: array("d") for s in self._chrf}
        self._coverage = {side: array("d") for side in self._coverage}
        return self

    def shard(self, start: int, stop: int) -> CorpusModel:
        """A finished model that judges the paragraphs with ordinals ``start`` ≤ k < ``stop``: the
        learnt models and those paragraphs' stored numbers only (small enough to send with them)."""
        part = CorpusModel.__new__(CorpusModel)
        part.systems, part.params = self.systems, self.params
        part._base = start
        part._length, part._chrf = {}, {}
        lo, hi = start - self._base, stop - self._base
        if not 0 <= lo <= hi <= len(self._gap):
            raise IndexError(f"ordinals {start}..{stop - 1} are not all in this model")
        part._support, part._support_end = {}, {}
        for s in self.systems:
            ends = self._support_end[s]
            first = ends[lo - 1] if lo else 0
            last = ends[hi - 1] if hi else 0
            part._support[s] = self._support[s][first:last]
            part._support_end[s] = array("q", (e - first for e in ends[lo:hi]))
        part._gap = self._gap[lo:hi]
        part._coverage = {side: array("d") for side in self._coverage}
        part._lowest = {side: v[lo:hi] for side, v in self._lowest.items()}
        part._doc_of = self._doc_of[lo:hi]
        part._unsourced_before = self._unsourced_before[lo:hi]
        part._doc_z = {k: self._doc_z[k] for k in set(part._doc_of) if k in self._doc_z}
        part._doc_credits = {k: self._doc_credits[k] for k in set(part._doc_of) if k in self._doc_credits}
        part._doc_named = {k: self._doc_named[k] for k in set(part._doc_of) if k in self._doc_named}
        part._doc_last_en = {k: self._doc_last_en[k] for k in set(part._doc_of) if k in self._doc_last_en}
        part.document_model = self.document_model
        part.coverage_models = self.coverage_models
        part.length_models, part.support_models = self.length_models, self.support_models
        part.score_models, part.gap_model = self.score_models, self.gap_model
        part._qe, part._qe_sentences = {}, {side: array("d") for side in ("en", "zh")}
        part.qe_models, part.qe_sentence_models = self.qe_models, self.qe_sentence_models
        return part

    def qe_metric(self, qe: ReferenceQE) -> str | None:
        """The QE metric the judge reads in ``qe``: the first of ``JudgeParams.qe_metrics`` it has
        with a learnt model (None: none)."""
        for metric in self.params.qe_metrics:
            if metric in qe.scores and self.qe_models.get(metric) is not None and math.isfinite(qe.scores[metric]):
                return metric
        return None

    def describe_qe(self) -> dict[str, Any] | None:
        """The reference-QE models learnt (summary.json): per metric its median, scale and use."""
        if not self.qe_models and not self.qe_sentence_models:
            return None
        used = next((m for m in self.params.qe_metrics if self.qe_models.get(m) is not None), None)
        return {"metric": used,
                "scores": {m: (None if r is None else {"median": r.median, "scale": r.scale})
                           for m, r in self.qe_models.items()},
                "sentences": {side: (None if r is None else {"median": r.median, "scale": r.scale})
                              for side, r in self.qe_sentence_models.items()}}

    def length_z(self, ref: ReferenceRecord, hyps: Mapping[str, HypothesisRecord]) -> float | None:
        """The combined robust z of an eligible paragraph's English length (None: no model)."""
        zs = []
        for predictor, value in _length_eligible_values(ref, hyps, self.systems):
            model = self.length_models[predictor]
            if model is not None:
                zs.append((model.z(value), 1.0 / model.scale ** 2))
        if len(zs) >= 3:
            # Weighted median: one system's broken output cannot drag the paragraph's z alone.
            zs.sort()
            half = sum(w for _, w in zs) / 2
            acc = 0.0
            for z, w in zs:
                acc += w
                if acc >= half:
                    return z
        elif zs:
            return sum(z * w for z, w in zs) / sum(w for _, w in zs)
        return None

    def weakest_sentence(self, ordinal: int, ref: ReferenceRecord) -> SentenceEvidence | None:
        """The eligible paragraph's least supported English sentence (None: no evidence)."""
        sents = _scored_sentences(ref, self.params)
        if sents is None:
            return None
        i = ordinal - self._base
        # Each system's supports for this paragraph: one per scored sentence, or none (no vote).
        stored = []
        for s in self.systems:
            ends = self._support_end[s]
            start = ends[i - 1] if i else 0
            stored.append((s, self.support_models[s], start, ends[i] - start))
        weakest: SentenceEvidence | None = None
        for j, (k, sent) in enumerate(sents):
            votes = []
            for s, model, start, count in stored:
                if model is not None and count:
                    value = self._support[s][start + j]
                    votes.append((model.z(value), value, s))
            if not votes:
                continue
            z, value, s = max(votes)
            if weakest is None or z < weakest.z:
                weakest = SentenceEvidence(k, sent, z, value, s, self.support_models[s].median)  # type: ignore[union-attr]
        return weakest

    def gap(self, ordinal: int) -> float | None:
        g = self._gap[ordinal - self._base]
        return None if math.isnan(g) else g

    def document_credits(self, ordinal: int) -> int:
        """Agencies the paragraph's document names on English lines of their own (a bit mask)."""
        return self._doc_credits.get(self._doc_of[ordinal - self._base], 0)

    def agencies_named_before(self, ordinal: int) -> int:
        """Agencies the English of the paragraph before this one (in its document) names although
        its Chinese does not: "Xinhua News Agency, September 30th: …" opening a heading whose
        Chinese has no dateline, the dateline of the paragraph that follows (a bit mask)."""
        return self._unsourced_before[ordinal - self._base]

    def document_agencies(self, ordinal: int) -> int:
        """Agencies the paragraph's document's English names anywhere (a bit mask)."""
        return self._doc_named.get(self._doc_of[ordinal - self._base], 0)

    def document_z(self, ordinal: int) -> float | None:
        """The robust z of the paragraph's document's English length (None: too short to judge)."""
        return self._doc_z.get(self._doc_of[ordinal - self._base])

    def in_document_tail(self, ordinal: int) -> bool:
        """Whether the paragraph is its document's last with English, or comes after it: where a
        translation that stops early stops (the paragraphs before it are translated)."""
        return ordinal >= self._doc_last_en.get(self._doc_of[ordinal - self._base], -1)

    def coverage_z(self, ordinal: int, side: str) -> float | None:
        """The robust z of the paragraph's least covered sentence on ``side`` ("en" or "zh")."""
        value = self._lowest[side][ordinal - self._base]
        model = self.coverage_models.get(side)
        return None if math.isnan(value) or model is None else model.z(value)


def coverage_flags(model: CorpusModel, ordinal: int, ref: ReferenceRecord, signals: dict[str, float | None]) -> list[Flag]:
    """``sentence_addition`` / ``sentence_omission``: an English sentence whose words are in no
    dictionary sense of the Chinese, a Chinese sentence none of whose words the English renders
    (judge.lexicon), each far below the corpus's coverage (robust z)."""
    params = model.params
    out = []
    for side, name in (("en", "sentence_addition"), ("zh", "sentence_omission")):
        z = model.coverage_z(ordinal, side)
        signals[f"coverage_z[{side}]"] = z
        if z is None or z > -params.z_length:
            continue
        # Evidence: find the sentence again (only for flagged paragraphs, so the cost is small).
        en_cov, zh_cov = _coverages(ref)
        covs, sentences = ((en_cov, english_sentences(ref.en)) if side == "en"
                           else (zh_cov, chinese_sentences(ref.zh)))
        k = min((i for i, c in enumerate(covs) if c is not None), key=lambda i: covs[i])  # type: ignore[arg-type,return-value]
        shown = sentences[k] if len(sentences[k]) <= 60 else sentences[k][:60] + "…"
        median = model.coverage_models[side].median  # type: ignore[union-attr]
        what = ("of its content words in any dictionary sense of the Chinese" if side == "en"
                else "of its dictionary words rendered in the English")
        where = "sentence" if side == "en" else "Chinese sentence"
        # Coverage has a long left tail even in faithful prose (paraphrase, idiom), so the strength
        # rises slowly: 0.1 at the threshold, 1 four units beyond it.
        strength = min(1.0, 0.1 + (-z - params.z_length) / 4.0)
        out.append(Flag(name, f"{where} {k + 1} {shown!r}: {covs[k]:.0%} {what} (corpus median {median:.0%}, "
                              f"robust z {z:+.1f})", strength))
    return out


def qe_flags(model: CorpusModel, qe: ReferenceQE, signals: dict[str, float | None]) -> list[Flag]:
    """``low_qe`` (judge.qe): the reference-free score of (Chinese, archive English) far below the
    corpus's (robust z), or one sentence that the LaBSE localisation finds no counterpart for on
    the other side; the weakest such sentence is named in the evidence either way."""
    params = model.params
    metric = model.qe_metric(qe)
    z: float | None = None
    parts: list[str] = []
    if metric is not None:
        score_model = model.qe_models[metric]
        score = float(qe.scores[metric])
        z = score_model.z(score)  # type: ignore[union-attr]
        parts.append(score_evidence(metric, score, score_model.median, z))  # type: ignore[union-attr]
    signals["qe_z"] = z
    flagged = z is not None and z <= -params.z_qe
    strength = _strength(z, params.z_qe) if z is not None and flagged else 0.0
    sentences: list[tuple[float, str]] = []
    for side in ("en", "zh"):
        sentence_model = model.qe_sentence_models.get(side)
        match = weakest_sentence(qe, side)
        if sentence_model is None or match is None:
            continue
        zs = sentence_model.z(match.similarity)  # type: ignore[arg-type]
        signals[f"qe_sentence_z[{side}]"] = zs
        if zs <= -params.z_qe_sentence_evidence:
            sentences.append((zs, sentence_evidence(side, match, sentence_model.median, zs)))
        if zs <= -params.z_qe_sentence:
            flagged = True
            strength = max(strength, _strength(zs, params.z_qe_sentence))
    if not flagged:
        return []
    parts += [text for _, text in sorted(sentences, key=lambda t: t[0])]
    return [Flag("low_qe", "; ".join(parts), strength)]


def judge_paragraph(model: CorpusModel, ordinal: int, r: ReferenceRecord, hyps: Mapping[str, HypothesisRecord],
                    chrf: Mapping[str, float], qe: ReferenceQE | None = None) -> Judgement:
    """Pass 2: judge one paragraph (the ``ordinal``-th given to ``model.add``; ``qe``: its
    reference QE, the one pass 1 saw, when the run has it)."""
    params = model.params
    systems = model.systems
    flags: list[Flag] = []
    signals: dict[str, float | None] = {}
    rec_hyps = {s: hyps[s].hyp for s in systems if s in hyps}

    flags += untranslated_flags(r, params, model.document_agencies(ordinal))
    for s in systems:
        h = hyps.get(s)
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
    flags += dateline_flags(r, model.document_credits(ordinal) | model.agencies_named_before(ordinal))
    flags += cut_short_flags(r, model.in_document_tail(ordinal))
    checks = check_names(r.en, r.zh) if r.en.strip() and r.zh.strip() else []
    flags += name_flags(r, list(rec_hyps.values()), checks)
    unmatched = [c for c in checks if not c.rendered]
    if unmatched:
        # How often the name check declines to judge (bench/bench_judge.py reports the share).
        signals["names_unmatched"] = float(len(unmatched))
        signals["names_abstained"] = float(sum(1 for c in unmatched if c.abstained))

    flags += alignment_flags(r, params)

    if _length_eligible(r, params):
        z = model.length_z(r, hyps)
        signals["length_z"] = z
        weak = model.weakest_sentence(ordinal, r)
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
            score_model = model.score_models.get(s)
            value = chrf.get(s)
            if score_model is None or value is None:
                continue
            z_s = score_model.z(value)
            signals[f"chrf_z[{s}]"] = z_s
            if z_s <= -params.z_flag:
                lows.append((s, value, score_model.median, z_s))
        scored = [s for s in systems if model.score_models.get(s) is not None and s in chrf]
        if lows:
            all_low = len(lows) == len(scored)
            for s, value, med, z_s in lows:
                flags.append(Flag("low_score", f"{s}: chrF {value:.1f} against a median of {med:.1f} "
                                  f"(robust z {z_s:+.1f})" + ("" if all_low else "; other systems are not low"),
                                  _strength(z_s, params.z_flag), None if all_low else s))

        gap = model.gap(ordinal)
        if gap is not None and model.gap_model is not None:
            zg = model.gap_model.z(gap)
            signals["consensus_z"] = zg
            if zg >= params.z_flag:
                flags.append(Flag("consensus", f"systems agree with each other {gap:+.1f} chrF more than "
                                  f"with the reference (corpus median {model.gap_model.median:+.1f}, robust z {zg:+.1f})",
                                  _strength(zg, params.z_flag)))
        flags += coverage_flags(model, ordinal, r, signals)
        if qe is not None:
            flags += qe_flags(model, qe, signals)

    if r.kind == "body" and r.zh.strip() and model.in_document_tail(ordinal):
        zd = model.document_z(ordinal)
        signals["document_z"] = zd
        if zd is not None and zd <= -params.z_document and model.document_model is not None:
            share = math.exp(zd * model.document_model.scale)
            flags.append(Flag("document_short", f"the document's English is {share:.0%} of the length its Chinese "
                              f"predicts on this corpus (robust z {zd:+.1f}): the translation may stop early",
                              _strength(zd, params.z_document)))

    _, fault = assess(flags, params)
    features = feature_vector(r, flags)
    suspicion = load_model(params.suspicion_model).probability(features)
    return Judgement(r.id, tuple(flags), suspicion, fault, signals, features)


def judge(references: Sequence[ReferenceRecord],
          hyps: Mapping[str, Mapping[str, HypothesisRecord]],
          chrf: Mapping[str, Mapping[str, float]] | None = None,
          params: JudgeParams | None = None,
          qe: Mapping[str, ReferenceQE] | None = None) -> list[Judgement]:
    """Judge every reference paragraph; one ``Judgement`` per record, in order.

    ``hyps``: system -> id -> hypothesis record. ``chrf``: system -> id -> paragraph chrF
    (the score stage's numbers; paragraphs without a score are simply absent). ``qe``: id ->
    the paragraph's reference QE (``evalkit.metrics.neural.ReferenceQE``, as
    ``load_reference_qe`` reads a run's reference_qe.jsonl; judge.qe); None or absent ids: no QE
    evidence. The in-memory form of the two passes the report stage streams (``CorpusModel``,
    ``judge_paragraph``).
    """
    params = params or JudgeParams()
    chrf = chrf or {}
    qe = qe or {}
    systems = list(hyps)

    def paragraph(r: ReferenceRecord) -> tuple[dict[str, HypothesisRecord], dict[str, float], ReferenceQE | None]:
        return ({s: hyps[s][r.id] for s in systems if r.id in hyps[s]},
                {s: chrf[s][r.id] for s in systems if r.id in chrf.get(s, {})}, qe.get(r.id))

    model = CorpusModel(systems, params)
    for r in references:
        model.add(r, *paragraph(r))
    model.finish()
    return [judge_paragraph(model, k, r, *paragraph(r)) for k, r in enumerate(references)]


# --- the two passes in chunks, for worker processes ----------------------------------------------

# One paragraph as the passes take it: the record, its hypotheses and its chrF by system, and
# (optionally, when the run has reference QE) its ``ReferenceQE`` or None.
Item = (tuple[ReferenceRecord, Mapping[str, HypothesisRecord], Mapping[str, float]]
        | tuple[ReferenceRecord, Mapping[str, HypothesisRecord], Mapping[str, float], "ReferenceQE | None"])


def _item_qe(item: Sequence[Any]) -> ReferenceQE | None:
    return item[3] if len(item) > 3 else None


def features_chunk(task: tuple[Sequence[str], JudgeParams, Sequence[Item]]) -> list[Features]:
    """Pass 1's work on consecutive paragraphs: ``(systems, params, items)`` → their
    ``paragraph_features``, in order, for ``CorpusModel.fold``."""
    systems, params, items = task
    return [paragraph_features(item[0], item[1], item[2], systems, params, _item_qe(item)) for item in items]


def judge_chunk(task: tuple[CorpusModel, int, Sequence[Item]]) -> list[Judgement]:
    """Pass 2 on consecutive paragraphs: ``(model shard, ordinal of the first, items)`` → their
    judgements, in order (``model.shard`` covers at least those ordinals)."""
    model, start, items = task
    return [judge_paragraph(model, start + i, item[0], item[1], item[2], _item_qe(item))
            for i, item in enumerate(items)]


def prepare() -> None:
    """Load what the judge reads on every paragraph (CC-CEDICT readings, sacrebleu metric
    objects): done once in a process that then forks workers, they share it instead of each
    loading it (~1.5 s and ~130 MB apiece)."""
    prepare_names()
    prepare_lexicon()
    load_model()
    _precision_metric()
    _chrf_metric()
    zh_quantities("一九五八年八月一日")


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
    """The judge's settings as run, with the suspicion model's version and weights (summary.json)."""
    # As JSON will read it back (tuples as lists), so a summary in memory equals the one on disk.
    out = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(params).items()}
    out["weights"] = dict(params.weights)
    model = load_model(params.suspicion_model)
    out["suspicion"] = {"version": model.version, "leak": model.leak,
                        "weights": dict(zip(model.features, model.weights, strict=True)),
                        "fitted_on": dict(model.fitted_on)}
    return out
