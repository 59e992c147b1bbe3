"""Dictionary coverage between the two halves of a paragraph, sentence by sentence.

For the judge's ``sentence_addition`` and ``sentence_omission`` flags: evidence that needs no MT
system. Every Chinese word of the paragraph (jieba's segmentation, and every dictionary word of
two to four characters inside it) is looked up in CC-CEDICT, the dictionary the ``gloss`` baseline
uses; its senses, reduced to content-word stems ("troops" → "troop"), plus the pinyin of its
characters (for names: 周恩来 → "zhou", "enlai"), make the paragraph's *sense bag*. Then:

* an English sentence's **coverage** is the share of its content words found in the bag. A
  sentence the translator invented ("The meeting closed amid warm applause") has few of its words
  in any sense of the Chinese; a faithful one, most.
* a Chinese sentence's (split at 。！？；) coverage is the share of its dictionary content words
  (not those whose every sense is a function word: 已经 "already") with a sense the English uses.
  A sentence the translation dropped has almost none.

Coverage varies with style and vocabulary, so the judge does not threshold it: it learns each
side's distribution on the corpus being judged and flags a sentence far below it (robust z), like
the length model. Only sentences with at least ``MIN_WORDS`` content words are scored.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

MIN_WORDS = 5

_STOP = frozenset("""
a an the of in on at to for from by with and or but not no nor as that which who whom whose this these those
it its it's is are was were be been being am has have had having do does did done will would shall should can
could may might must also then than so such very more most much many some any all each every both either neither
there here their them they he him his she her hers we us our ours you your yours i me my mine one ones
into onto over under about above below after before during since until while when where why how what
up down out off again further once only own same other another too just now ever even still yet already
mr mrs ms dr etc e.g i.e vs per via s t d ll re ve m o
""".split())
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_ZH_SENTENCE = re.compile(r"[^。！？；!?;]+[。！？；!?;]*")
_CLASSIFIER = re.compile(r"\b(?:CL|classifier|variant of|old variant|surname|abbr\. for|see|also written)\b[^;,]*", re.I)


def stem(word: str) -> str:
    """A crude English stem, the same for the sense bag and the sentence: lower case, no
    possessive, no plural, -ed or -ing, then the first five letters ("countries" → "count",
    "idealist" → "ideal")."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    w = w.strip("'-")
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 4 and w.endswith(("ses", "xes", "ches", "shes")):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if len(w) > 5 and w.endswith("ing"):
        w = w[:-3]
    elif len(w) > 4 and w.endswith("ed"):
        w = w[:-2]
    # Five letters stand for the word's family: "idealist" and "idealism", "humanist" and
    # "humanitarian", "agricultural" and "agriculture" share their first five.
    return w[:5]


def content_words(text: str) -> list[str]:
    """The stems of ``text``'s content words (no stop words, no single letters), in order."""
    out = []
    for m in _WORD.finditer(text):
        w = m.group(0).lower()
        if w in _STOP or len(w) < 2:
            continue
        for part in re.split(r"[-']", w):
            if part and part not in _STOP and len(part) > 1:
                out.append(stem(part))
    return out


@functools.lru_cache(maxsize=131072)
def senses(word: str) -> frozenset[str]:
    """Content-word stems of every CC-CEDICT sense of ``word`` and the pinyin of its characters
    (empty when the dictionary lacks the word)."""
    meanings, pinyin = _sense_parts(word)
    return meanings | pinyin


@functools.lru_cache(maxsize=131072)
def _sense_parts(word: str) -> tuple[frozenset[str], frozenset[str]]:
    """(content-word stems of ``word``'s senses, the pinyin of its characters)."""
    from evalkit.systems.gloss import dictionary

    meanings: set[str] = set()
    pinyin: set[str] = set()
    for entry in dictionary().get(word, ()):
        for sense in entry.definitions:
            sense = _CLASSIFIER.sub("", re.sub(r"\[[^\]]*\]|\([^)]*\)", " ", sense))
            meanings.update(content_words(sense))
        syllables = [re.sub(r"\d", "", s).lower().replace("u:", "u") for s in entry.pinyin.split()]
        if syllables:
            pinyin.add("".join(syllables))  # 恩来 → "enlai"
            pinyin.update(syllables)
    return frozenset(meanings), frozenset(pinyin)


def _segments(zh: str) -> Iterable[str]:
    """Words of a Chinese text: jieba's, and every dictionary word of 2–4 characters inside a run."""
    import jieba

    from evalkit.systems.gloss import dictionary

    words = dictionary()
    for run in _HAN.findall(zh):
        yield from jieba.lcut(run, HMM=False)
        for i in range(len(run)):
            for j in range(i + 2, min(len(run), i + 4) + 1):
                if run[i:j] in words:
                    yield run[i:j]


def sense_bag(zh: str) -> frozenset[str]:
    """Every sense stem of every word of ``zh`` (see the module docstring), and its digits."""
    bag: set[str] = set()
    for word in _segments(zh):
        bag |= senses(word)
    bag.update(re.findall(r"\d+", zh))
    return frozenset(bag)


def english_coverage(sentences: Iterable[str], bag: frozenset[str]) -> list[float | None]:
    """Per English sentence, the share of its content words in ``bag`` (None: too few words)."""
    out: list[float | None] = []
    for sentence in sentences:
        words = [w for w in content_words(sentence) if not w.isdigit()]
        out.append(sum(w in bag for w in words) / len(words) if len(words) >= MIN_WORDS else None)
    return out


def chinese_sentences(zh: str) -> list[str]:
    return [s.strip() for s in _ZH_SENTENCE.findall(zh) if s.strip()]


def chinese_coverage(sentences: Iterable[str], english: str) -> list[float | None]:
    """Per Chinese sentence, the share of its dictionary content words (two or more characters,
    with a sense that is no function word) that have a sense in ``english`` (None: too few such
    words). Words whose every sense is a function word (已经 "already", 由此 "from this") say
    nothing a translation must show in a content word, so they are not counted."""
    import jieba

    used = set(content_words(english))
    out: list[float | None] = []
    for sentence in sentences:
        words = [w for run in _HAN.findall(sentence) for w in jieba.lcut(run, HMM=False) if len(w) >= 2]
        scored = [senses(w) for w in words if _sense_parts(w)[0]]
        out.append(sum(bool(s & used) for s in scored) / len(scored) if len(scored) >= MIN_WORDS else None)
    return out


def prepare() -> None:
    """Load jieba's and CC-CEDICT's tables now (before forking workers that share them)."""
    import jieba

    jieba.initialize()
    senses("和平")
