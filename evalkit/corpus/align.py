"""Paragraph alignment of one article: a banded, monotonic dynamic programme over beads.

A *bead* groups ``a`` consecutive English body lines with ``b`` consecutive Chinese ones
(``a-b``: 1-1, 2-1, 1-2, 3-1, 1-3, the unmatched 1-0 and 0-1, and N-1 for N ≥ 4 English lines
with one long Chinese line that OCR glued from many). The cost of a bead is

* a length term: ``x = log((en_chars + A) / (RATIO * zh_chars + A))``, cost ``x² / 2σ²``.
  Measured on the 198 hand-aligned ``pair`` groups of the gold set (tests/data/corpus/gold,
  ``bench/bench_gold.py`` prints it again): English characters ≈ 3.93 × Chinese characters
  (character-weighted; 3.92 with s.d. 0.13 in log space on pairs of ≥ 40 Chinese characters;
  the seed alone ≈ 3.8). Short lines (verse, signatures) vary far more (s.d. 0.28 for all
  pairs), so ``A = 20`` characters are added to both sides, which brings the s.d. down to 0.17;
* a prior per bead shape (merges and skips must earn their place);
* anchors that survive translation (``anchors.py``): shared number values, list-item
  numbers, bullets, quotes/brackets/parentheses, Xinhua datelines, glossary terms, Latin tokens,
  and pinyin names read by the Chinese characters (an appointment list's only anchor);
* the headline: a Chinese line that only repeats the headline or byline may stand alone as a
  cheap ``0-1`` (kind ``headline_repeat``) unless the English repeats the title too, in which
  case the two are pulled together.

A run of unmatched lines is one event (affine gaps); after an English that stops mid-sentence
the Chinese tail opens cheaply (TAIL_OPEN), and a cut-off last line pays no length cost for
being short. The DP is restricted to a band around the diagonal and around the path the texts'
lengths predict (they part when the English stops early), widened only if the best path touches
the band's edge, so a 1,000-paragraph document aligns in well under a second.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
import unicodedata
from dataclasses import dataclass

from evalkit.corpus.anchors import LineAnchors, en_anchors, en_list_item, glossary_items, name_anchors, zh_anchors
from evalkit.corpus.parse import STRIP, Article

# Length model (see the module docstring for the measurement).
RATIO = 3.9
SMOOTH = 20.0
SIGMA = 0.18

# Bead shapes and their priors (in the same units as the length cost: −log of a probability).
BEAD_PRIOR = {
    (1, 1): 0.0,
    (2, 1): 3.0, (1, 2): 3.0,
    (3, 1): 6.0, (1, 3): 6.0,
    (1, 0): 7.0, (0, 1): 7.0,
}
GAP_EXTEND = 1.5             # each further line of a run of unmatched lines (see ``_dp``)
GLUED_PRIOR = 8.0            # 4 to MAX_GLUED English lines with one long Chinese line (OCR glued a poem)
GLUED_MIN_CHARS = 100
MAX_GLUED = 40
TAIL_OPEN_ENDED = 6.0        # … after an English whose last line ends its sentence (ties go to the tail)
TAIL_OPEN = 3.0              # a run of Chinese lines after an English that stops mid-sentence
HEADLINE_REPEAT_COST = 0.5   # a lone Chinese headline/byline repeat (0-1): expected, not an omission
HEAD_MATCH_BONUS = 3.0       # English title/byline line and Chinese headline/byline line in one bead
HEAD_ALONE_PENALTY = 5.0     # a pure headline/byline repeat merged with body text it does not translate
EN_HEAD_ALONE_PENALTY = 3.0  # an English title repeat paired with no Chinese headline
REPEAT_MATCH_BONUS = 1.0     # refrains and speaker labels: a repeated line pairs with a repeated line
REPEAT_MISMATCH_PENALTY = 1.0
SENTENCE_JOIN_PENALTY = 1.5  # a 1-2/1-3 bead that joins a Chinese line ending a sentence to the next
_SENTENCE_END = tuple("。！？”」")
FINAL_MARK_PENALTY = 1.0     # the unit ends in another punctuation class (verse keeps ？ ↔ ?, ， ↔ ,)
NAME_BONUS = 1.5             # a pinyin name of the English read by the Chinese unit's characters
NAME_PENALTY = 0.5           # … or found on one side only (the other side writes it in another line)

# How far the Chinese headline may reach into the body, and the English title repeat.
LEADING_LINES = 4

_STOP = frozenset("a an the of to in on at and or for is are was were be been have has had by with from as "
                  "its it this that into than".split())
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Bead:
    """One aligned group: English line indices, Chinese line indices, shape, kind, cost."""

    en: tuple[int, ...]
    zh: tuple[int, ...]
    kind: str          # "body" or "headline_repeat"
    cost: float        # the cost the DP used (bonuses included)
    penalty: float     # the same without anchor bonuses: ≥ 0, reported as ``align_cost``

    @property
    def shape(self) -> str:
        return f"{len(self.en)}-{len(self.zh)}"


def _fold(text: str) -> str:
    # Tone-marked pinyin ("Fùjí Wén") and full-width forms compare equal to their plain forms.
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def _content_words(text: str) -> set[str]:
    # A 5-letter prefix is a cheap stemmer: announce/announced, continue/continuously.
    return {w[:5] for w in _WORD.findall(_fold(text)) if w not in _STOP}


def _similar(a: set[str], b: set[str], threshold: float = 0.6) -> bool:
    return bool(a) and bool(b) and len(a & b) / max(len(a), len(b)) >= threshold


def _squash(text: str) -> str:
    return re.sub(r"[\s\u3000]+", "", text)


def en_head_lines(article: Article) -> set[int]:
    """English body lines (among the first few) that repeat the title or the byline.

    A line that *opens* with a sentence restating the title counts too (the English of
    1968-07-03 starts "Relevant authorities have announced the expulsion of two British spies.").
    """
    title = _content_words(article.title_en)
    author = _squash(_fold(article.author_en))
    found: set[int] = set()
    for i, para in enumerate(article.en[:LEADING_LINES]):
        text = para.text
        if en_list_item(text) is not None:
            continue  # "A. Name lists of appointments…": the first section of the body, not the title
        if _similar(_content_words(text), title):
            found.add(i)
        elif author and _squash(_fold(text)) == author:
            found.add(i)
        else:
            first = re.split(r"(?<=[.!?:])\s", text, maxsplit=1)[0]
            if first != text and _similar(_content_words(first), title, 0.7):
                found.add(i)
    return found


_CUT_OFF = re.compile(r"(?:(?<![\w'’-])[a-z][\w'’-]*|[,(\-–—])\s*$")


def is_cut_off(text: str) -> bool:
    """Whether an English line stops mid-sentence: on a lower-case word or a comma, after at
    least four words."""
    return len(text.split()) >= 4 and bool(_CUT_OFF.search(text))


def repeated_lines(texts: list[str], max_glued: int = 12) -> set[int]:
    """Lines that occur more than once in their half (refrains, speaker labels in verse dialogue).

    A line that starts or ends with a short repeated line counts too: OCR glued the speaker label
    美国“侨民” onto the verse before it in 对话 (威胁你们的生存？美国“侨民”).
    """
    counts: dict[str, int] = {}
    for text in texts:
        counts[text] = counts.get(text, 0) + 1
    repeated = {t for t, c in counts.items() if c > 1}
    glued = [t for t in repeated if len(t) <= max_glued]
    return {k for k, text in enumerate(texts)
            if text in repeated or any(text.endswith(r) or text.startswith(r) for r in glued)}


def zh_head_lines(article: Article) -> tuple[set[int], set[int]]:
    """Chinese body lines that repeat the headline, a deck of it, or the byline.

    Returns ``(pure, opening)``: *pure* lines hold nothing else (candidates for a
    ``headline_repeat`` record); *opening* lines start with the headline and go on (the seed's
    first line glues the headline to the salutation) or are a short variant of it (心红树绿).
    Only the leading run of such lines counts: a signature at the end is not a byline.
    """
    decks = {_squash(d) for d in (article.title_zh, *article.headline_decks) if d}
    author = _squash(article.author_zh)
    pure: set[int] = set()
    opening: set[int] = set()
    for j, para in enumerate(article.zh[:LEADING_LINES]):
        text = _squash(para.text)
        if text in decks or (author and text == author):
            pure.add(j)
        elif any(text.startswith(d) or (d in text and len(text) <= len(d) + 4) for d in decks):
            opening.add(j)
        else:
            break
    return pure, opening


# Everything ``_Scorer.cost`` needs about one unit (one line, or consecutive lines merged by a
# bead), precomputed as a flat tuple: the DP asks for ~150 costs per English line, so attribute
# look-ups and set unions inside ``cost`` would dominate the run time.
#   (chars, numbers, quotes, parens, brackets, bullets, item, dateline, terms, latin, final,
#    head, pure_head, repeated, joins_sentence, names)
_Unit = tuple


def _merge(lines: list[LineAnchors]) -> LineAnchors:
    if len(lines) == 1:
        return lines[0]
    first = lines[0]
    numbers, terms, latin, marks = set(first.numbers), set(first.terms), set(first.latin), first.marks
    dateline = first.dateline
    for line in lines[1:]:
        numbers |= line.numbers
        terms |= line.terms
        latin |= line.latin
        marks = marks + line.marks
        dateline = dateline or line.dateline
    return LineAnchors(sum(x.length for x in lines) + len(lines) - 1, frozenset(numbers), marks, first.item,
                       dateline, frozenset(terms), frozenset(latin), lines[-1].final)


class _Scorer:
    """Bead costs for one article; all per-line and per-unit work is done once, up front."""

    def __init__(self, article: Article, max_merge: int = 3):
        gloss = glossary_items(article.glossary)
        en = [en_anchors(p.text, gloss) for p in article.en]
        zh = [zh_anchors(p.text, gloss) for p in article.zh]
        self.en_head = en_head_lines(article)
        self.zh_pure, zh_open = zh_head_lines(article)
        self.zh_head = self.zh_pure | zh_open
        en_rep = repeated_lines([p.text for p in article.en])
        zh_rep = repeated_lines([p.text for p in article.zh])
        zh_stop = [p.text.endswith(_SENTENCE_END) for p in article.zh]
        no_stop = [False] * len(en)
        # A translation cut off mid-sentence (the archive's commonest defect) ends in a line that
        # stops on a lower-case word or a comma ("On the occasion of the second anniversary of");
        # that line is as short as it is because the English stops there. Signatures, dates and
        # place lines ("August 5, 1958, in Moscow") end otherwise.
        self.cut_at = len(en) if article.en and len(zh) > 1 and is_cut_off(article.en[-1].text) else -1
        en_names, zh_names = name_anchors([p.text for p in article.en], [p.text for p in article.zh])
        # units[k][i] is the unit of lines i..i+k-1 (k = 1..max_merge).
        self.en_units = self._units(en, self.en_head, set(), en_rep, no_stop, en_names, max_merge)
        self.zh_units = self._units(zh, self.zh_head, self.zh_pure, zh_rep, zh_stop, zh_names, max_merge)
        # Characters before each line ([0, len(line 0), …]): the band's length path and N-1 beads.
        self.en_cum = [0, *itertools.accumulate(u[0] for u in self.en_units[1])]
        self.zh_cum = [0, *itertools.accumulate(u[0] for u in self.zh_units[1])]

    @staticmethod
    def _units(lines: list[LineAnchors], head: set[int], pure: set[int], rep: set[int],
               stop: list[bool], names: list[frozenset[int]], max_merge: int) -> list[list[_Unit]]:
        units: list[list[_Unit]] = [[]]
        for k in range(1, max_merge + 1):
            row = []
            for i in range(len(lines) - k + 1):
                u = _merge(lines[i:i + k])
                span = range(i, i + k)
                row.append((u.length, u.numbers, u.marks.quotes, u.marks.parens, u.marks.brackets,
                            u.marks.bullets, u.item, u.dateline, u.terms, u.latin, u.final,
                            any(x in head for x in span), any(x in pure for x in span),
                            any(x in rep for x in span), any(stop[x] for x in range(i, i + k - 1)),
                            frozenset().union(*names[i:i + k])))
            units.append(row)
        return units

    def glued_lines(self) -> frozenset[int]:
        """Chinese lines long enough to hold many English lines: at least GLUED_MIN_CHARS characters,
        whose expected English is three times the English's median line or more."""
        lengths = sorted(u[0] for u in self.en_units[1])
        if not lengths:
            return frozenset()
        median = lengths[len(lengths) // 2]
        return frozenset(j for j, u in enumerate(self.zh_units[1])
                         if u[0] >= GLUED_MIN_CHARS and RATIO * u[0] >= 3 * median)

    def glued_cost(self, i0: int, a: int, j0: int) -> tuple[float, float]:
        """(cost with bonuses, penalty without) of English lines i0..i0+a-1 with the one Chinese
        line j0: the length term, a prior and the names they share."""
        e_len = self.en_cum[i0 + a] - self.en_cum[i0] + a - 1
        x = math.log((e_len + SMOOTH) / (RATIO * self.zh_units[1][j0][0] + SMOOTH))
        # Names say which long line it is (a list glued into one line and its continuation).
        bonus, names_penalty = _name_terms(frozenset().union(*(u[-1] for u in self.en_units[1][i0:i0 + a])),
                                           self.zh_units[1][j0][-1])
        penalty = x * x * _HALF_INV_VAR + GLUED_PRIOR + names_penalty
        return penalty - bonus, penalty

    def cost(self, i0: int, a: int, j0: int, b: int) -> tuple[float, float]:
        """(cost with bonuses, penalty without) of English lines i0..i0+a-1 with Chinese j0..j0+b-1."""
        if a == 0:
            if b == 1 and j0 in self.zh_pure:
                return HEADLINE_REPEAT_COST, HEADLINE_REPEAT_COST
            return BEAD_PRIOR[(0, b)], BEAD_PRIOR[(0, b)]
        if b == 0:
            cost = BEAD_PRIOR[(a, 0)] + (EN_HEAD_ALONE_PENALTY if i0 in self.en_head else 0.0)
            return cost, cost
        (e_len, e_num, e_q, e_p, e_br, e_bul, e_item, e_date, e_terms, e_latin, e_final,
         e_head, _, e_rep, _, e_names) = self.en_units[a][i0]
        (z_len, z_num, z_q, z_p, z_br, z_bul, z_item, z_date, z_terms, z_latin, z_final,
         z_head, z_pure, z_rep, z_join, z_names) = self.zh_units[b][j0]

        x = math.log((e_len + SMOOTH) / (RATIO * z_len + SMOOTH))
        if x < 0 and i0 + a == self.cut_at:
            x = 0.0  # the English stops inside this unit: short is what a cut-off translation is
        penalty = x * x * _HALF_INV_VAR + BEAD_PRIOR[(a, b)]
        bonus = 0.0
        if e_head and z_head:
            bonus += HEAD_MATCH_BONUS
        elif z_pure:
            penalty += HEAD_ALONE_PENALTY
        elif e_head:
            penalty += EN_HEAD_ALONE_PENALTY
        if e_rep and z_rep:
            bonus += REPEAT_MATCH_BONUS
        elif e_rep or z_rep:
            penalty += REPEAT_MISMATCH_PENALTY
        if z_join:
            penalty += SENTENCE_JOIN_PENALTY

        # Anchors that survive translation.
        if e_num or z_num:
            shared = len(e_num & z_num)
            bonus += 0.6 * min(shared, 6)
            penalty += 0.25 * min(len(e_num) + len(z_num) - 2 * shared, 12)
        penalty += 0.3 * abs(e_q - z_q) + 0.2 * abs(e_p - z_p) + 0.5 * abs(e_br - z_br)
        if e_bul or z_bul:
            if e_bul == z_bul:
                bonus += 1.0
            else:
                penalty += 1.5
        if e_item is not None or z_item is not None:
            if e_item == z_item:
                bonus += 1.5
            else:
                penalty += 2.0 if (e_item is not None and z_item is not None) else 0.5
        if z_date:
            if e_date:
                bonus += 1.0
            else:
                penalty += 0.3  # English often drops the dateline (1966-68): weak evidence only
        elif e_date:
            penalty += 0.5
        if e_final != z_final:
            penalty += FINAL_MARK_PENALTY
        if e_terms or z_terms:
            shared = len(e_terms & z_terms)
            bonus += 1.0 * shared
            penalty += 0.3 * (len(e_terms) + len(z_terms) - 2 * shared)
        if z_latin:
            found = sum(1 for t in z_latin if t in e_latin)
            bonus += 1.0 * found
            penalty += 0.5 * (len(z_latin) - found)
        if e_names or z_names:
            name_bonus, name_penalty = _name_terms(e_names, z_names)
            bonus += name_bonus
            penalty += name_penalty
        return penalty - bonus, penalty


def _name_terms(e_names: frozenset[int], z_names: frozenset[int]) -> tuple[float, float]:
    """(bonus, penalty) of the pinyin names two units share or hold alone."""
    shared = len(e_names & z_names)
    return NAME_BONUS * min(shared, 3), NAME_PENALTY * min(len(e_names) + len(z_names) - 2 * shared, 4)


_HALF_INV_VAR = 1.0 / (2 * SIGMA * SIGMA)


SHAPES = tuple(BEAD_PRIOR)


def align(article: Article, band: int = 10) -> list[Bead]:
    """The least-cost monotonic bead sequence covering every body line of both halves."""
    scorer = _Scorer(article)
    n, m = len(article.en), len(article.zh)
    width = max(band, 4)
    while True:
        beads, touched = _dp(scorer, n, m, width)
        if not touched or width >= max(n, m):
            return beads
        width *= 2


_MATCH, _ZH_GAP, _EN_GAP = 0, 1, 2  # DP states: after a bead with both sides, after a 0-1, after a 1-0
_PAIR_SHAPES = tuple((a, b) for a, b in SHAPES if a and b)


def _dp(scorer: _Scorer, n: int, m: int, width: int) -> tuple[list[Bead], bool]:
    """Banded DP with affine gaps. Returns the beads and whether the path came near the band's edge.

    A run of unmatched lines is one event (English truncated mid-article, a dropped section), so
    the first ``0-1``/``1-0`` of a run costs the full prior and each further one only
    ``GAP_EXTEND``. Without that, a long untranslated tail is cheaper to smear over the document
    as 1-2/1-3 merges than to leave unmatched at the end. Three DP layers keep the last bead's
    state (Gotoh's algorithm).
    """
    inf = math.inf

    # Two centres per row: the diagonal, and where the Chinese has as many characters behind it as
    # the English (at RATIO). They part when one half stops early (an English cut off after three of
    # ten telegrams): the band spans both, so that the path along the text's lengths stays in view.
    en_cum, zh_cum = scorer.en_cum, scorer.zh_cum

    def span(i: int) -> tuple[int, int]:
        diagonal = i * m / n if n else 0
        by_length = bisect.bisect_left(zh_cum, en_cum[i] / RATIO)
        low, high = min(diagonal, by_length), max(diagonal, by_length)
        return max(0, math.floor(low - width)), min(m, math.ceil(high + width))

    spans = [span(i) for i in range(n + 1)]
    glued = scorer.glued_lines()
    if spans[0][0] != 0:  # cannot happen (the centre of row 0 is 0); the traceback relies on it
        raise AssertionError("band must contain (0, 0)")
    best = [[[inf] * (hi - lo + 1) for lo, hi in spans] for _ in range(3)]
    back: list[list[list[tuple | None]]] = [[[None] * (hi - lo + 1) for lo, hi in spans] for _ in range(3)]
    best[_MATCH][0][0] = 0.0
    cost_of = scorer.cost

    def before(pi: int, pj: int) -> tuple[float, int]:
        """The best cost of reaching cell (pi, pj) in any state, and that state (inf outside the band)."""
        plo, phi = spans[pi]
        if pj < plo or pj > phi:
            return inf, 0
        k = pj - plo
        return min((best[0][pi][k], 0), (best[1][pi][k], 1), (best[2][pi][k], 2))

    for i in range(n + 1):
        lo, hi = spans[i]
        for j in range(lo, hi + 1):
            if i == 0 and j == 0:
                continue
            # A bead with lines on both sides, after any state.
            here, choice = inf, None
            for a, b in _PAIR_SHAPES:
                pi, pj = i - a, j - b
                if pi < 0 or pj < 0:
                    continue
                prev, state = before(pi, pj)
                if prev == inf:
                    continue
                cost, penalty = cost_of(pi, a, pj, b)
                if prev + cost < here:
                    here, choice = prev + cost, (a, b, cost, penalty, state)
            if j > 0 and j - 1 in glued:
                # One long Chinese line glued by OCR from a poem's or a telegram's many lines, each
                # of which the English keeps on its own: up to MAX_GLUED English lines in one bead.
                pj = j - 1
                for a in range(4, min(i, MAX_GLUED) + 1):
                    prev, state = before(i - a, pj)
                    if prev == inf:
                        continue
                    cost, penalty = scorer.glued_cost(i - a, a, pj)
                    if prev + cost < here:
                        here, choice = prev + cost, (a, 1, cost, penalty, state)
            best[_MATCH][i][j - lo] = here
            back[_MATCH][i][j - lo] = choice
            # A Chinese line with no English (0-1), opening or extending a run.
            if j > lo:
                k = j - 1 - lo
                open_cost, _ = cost_of(i, 0, j - 1, 1)
                if i == n:  # the Chinese goes on after the English has ended: a translation that stops
                    open_cost = min(open_cost, TAIL_OPEN if scorer.cut_at == n else TAIL_OPEN_ENDED)
                extend = min(open_cost, GAP_EXTEND)
                options = ((best[_MATCH][i][k] + open_cost, open_cost, _MATCH),
                           (best[_EN_GAP][i][k] + open_cost, open_cost, _EN_GAP),
                           (best[_ZH_GAP][i][k] + extend, extend, _ZH_GAP))
                total, cost, state = min(options)
                if total < inf:
                    best[_ZH_GAP][i][j - lo] = total
                    back[_ZH_GAP][i][j - lo] = (0, 1, cost, cost, state)
            # An English line with no Chinese (1-0).
            if i > 0:
                plo, phi = spans[i - 1]
                if plo <= j <= phi:
                    k = j - plo
                    open_cost, _ = cost_of(i - 1, 1, j, 0)
                    extend = min(open_cost, GAP_EXTEND)
                    options = ((best[_MATCH][i - 1][k] + open_cost, open_cost, _MATCH),
                               (best[_ZH_GAP][i - 1][k] + open_cost, open_cost, _ZH_GAP),
                               (best[_EN_GAP][i - 1][k] + extend, extend, _EN_GAP))
                    total, cost, state = min(options)
                    if total < inf:
                        best[_EN_GAP][i][j - lo] = total
                        back[_EN_GAP][i][j - lo] = (1, 0, cost, cost, state)
    lo, hi = spans[n]
    if not (lo <= m <= hi):
        return [], True
    final, state = min((best[s][n][m - lo], s) for s in range(3))
    if final == inf:
        return [], True
    beads: list[Bead] = []
    touched = False
    i, j = n, m
    while i > 0 or j > 0:
        lo, hi = spans[i]
        if (j - lo < 2 and lo > 0) or (hi - j < 2 and hi < m):
            touched = True
        a, b, cost, penalty, prev_state = back[state][i][j - lo]
        en = tuple(range(i - a, i))
        zh = tuple(range(j - b, j))
        kind = "headline_repeat" if a == 0 and b == 1 and zh[0] in scorer.zh_pure else "body"
        beads.append(Bead(en, zh, kind, cost, penalty))
        i, j, state = i - a, j - b, prev_state
    beads.reverse()
    return beads, touched


def headline_cost(article: Article) -> float:
    """Length-model cost of the English title against the Chinese headline (for the headline record)."""
    en, zh = len(article.title_en.strip(STRIP)), len(_squash(article.title_zh))
    x = math.log((en + SMOOTH) / (RATIO * zh + SMOOTH))
    return x * x / (2 * SIGMA * SIGMA)
