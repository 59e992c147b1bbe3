"""The embedded offline baseline: deterministic word-by-word gloss of the seed, with no network."""

from __future__ import annotations

import socket

import pytest
from sacrebleu import CHRF

from evalkit.config import RunConfig, SystemConfig
from evalkit.errors import ConfigError
from evalkit.systems.base import Segment, create_system
from evalkit.systems.gloss import gloss_line
from evalkit.systems.runner import translate_system
from tiny_models import REAL_SEED_REFERENCE, seed_references


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access in a test that must run offline")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def gloss_config() -> RunConfig:
    return RunConfig(reference="unused.jsonl", systems=[SystemConfig(name="gloss", backend="gloss")])


def test_gloss_translates_the_seed_reference_set_offline_and_reports_chrf(no_network, capsys):
    references = seed_references()
    config = gloss_config()
    records = translate_system(config, config.systems[0], references)
    assert [r.id for r in records] == [r.id for r in references]
    assert all(r.hyp for r, ref in zip(records, references, strict=True) if ref.zh)
    assert not any(_has_cjk(r.hyp) for r in records), "every Chinese word gets an English gloss or pinyin"
    pairs = [(r.hyp, ref.en) for r, ref in zip(records, references, strict=True) if ref.en and ref.zh]
    score = CHRF().corpus_score([h for h, _ in pairs], [[e for _, e in pairs]])
    source = "reference/seed.jsonl" if REAL_SEED_REFERENCE.exists() else "the seed's independent translation"
    with capsys.disabled():
        print(f"\ngloss corpus {score} against {source} ({len(pairs)} paragraphs)")
    # A floor, not a target: a naive jieba + first-gloss baseline already reaches about 40.
    assert score.score > 30


def test_gloss_output_is_deterministic():
    references = seed_references()[:12]
    config = gloss_config()
    first = translate_system(config, config.systems[0], references, refresh=True)
    second = translate_system(config, config.systems[0], references, refresh=True)
    assert [r.hyp for r in first] == [r.hyp for r in second]
    assert first[0].system == second[0].system


@pytest.mark.parametrize(("zh", "expected"), [
    ("我收到了你8月1日的信。", "August 1"),
    ("1958年8月5日于莫斯科", "August 5, 1958"),
    ("三十亿人民", "3 billion"),
    ("本月二十九日", "29th"),
    ("一九五八年八月五日", "August 5, 1958"),
])
def test_gloss_renders_numbers_and_dates_in_english(zh, expected):
    assert expected in gloss_line(zh, {})


@pytest.mark.parametrize(("zh", "expected"), [
    ("赫鲁晓夫", "Khrushchev"),        # a dictionary person: the surname, not the biography
    ("莫斯科", "Moscow"),              # "Moscow, capital of Russia" cut at the comma
    ("尼·赫鲁晓夫", "N. Khrushchev"),   # an initial before the name dot
    ("美国", "United States"),
])
def test_gloss_writes_names_the_english_way(zh, expected):
    assert gloss_line(zh, {}) == expected


def test_gloss_writes_unknown_person_names_in_capitalised_pinyin():
    assert gloss_line("王小明说", {}).startswith("Wang Xiaoming")


@pytest.mark.parametrize(("zh", "expected"), [
    ("你好，世界。", ","),
    ("他说：“和平。”", '"'),
    ("《人民日报》", '"'),
    ("是吗？", "?"),
])
def test_gloss_maps_chinese_punctuation(zh, expected):
    out = gloss_line(zh, {})
    assert expected in out
    assert not set(out) & set("，。：“”《》？")


def test_gloss_skips_variant_and_surname_senses_of_function_words():
    out = gloss_line("我收到了你的信", {})
    assert "variant" not in out and "bull" not in out and "surname" not in out


def test_gloss_overrides_take_precedence():
    system = create_system(SystemConfig(name="g", backend="gloss", overrides={"信": "missive"}))
    (translation,) = system.translate([Segment("a", "你的信")])
    assert "missive" in translation.hyp


def test_gloss_fingerprint_follows_its_overrides():
    plain = create_system(SystemConfig(name="g", backend="gloss"))
    custom = create_system(SystemConfig(name="g", backend="gloss", overrides={"信": "missive"}))
    assert plain.fingerprint != custom.fingerprint


def test_gloss_rejects_unknown_options():
    with pytest.raises(ConfigError, match="unknown option"):
        create_system(SystemConfig(name="g", backend="gloss", model="x"))


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _fresh_dictionary():
    from evalkit.systems import gloss

    gloss.dictionary.cache_clear()
    return gloss.dictionary()


def test_the_dictionary_index_is_kept_beside_the_cache_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("EVALKIT_CACHE", str(tmp_path / "translations.sqlite"))
    built = _fresh_dictionary()
    (stored,) = tmp_path.glob("cedict-index-*.pickle")
    monkeypatch.setattr("evalkit.systems.gloss._build_index", lambda: pytest.fail("the stored index was not used"))
    assert _fresh_dictionary() == built
    assert stored.exists()


def test_character_readings_are_kept_in_their_own_small_file_and_reused(tmp_path, monkeypatch):
    from evalkit.systems import gloss

    monkeypatch.setenv("EVALKIT_CACHE", str(tmp_path / "translations.sqlite"))
    gloss.character_pinyin.cache_clear()
    built = gloss.character_pinyin()
    (stored,) = tmp_path.glob("cedict-characters-*.pickle")
    assert "chong2" in built["重"] and "zhong4" in built["重"]
    assert all(len(word) == 1 for word in built)
    monkeypatch.setattr("evalkit.systems.gloss._load_index",
                        lambda path: pytest.fail(f"read {path.name}") if "index" in path.name else _real_load(path))
    gloss.character_pinyin.cache_clear()
    assert gloss.character_pinyin() == built
    assert stored.stat().st_size < 1_000_000
    gloss.character_pinyin.cache_clear()


def _real_load(path):
    import pickle

    with path.open("rb") as handle:
        return pickle.load(handle)


def test_a_damaged_dictionary_index_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("EVALKIT_CACHE", str(tmp_path / "translations.sqlite"))
    reference = _fresh_dictionary()
    (stored,) = tmp_path.glob("cedict-index-*.pickle")
    stored.write_bytes(b"\x80\x05 truncated")
    assert _fresh_dictionary() == reference
    assert stored.stat().st_size > 1_000_000
