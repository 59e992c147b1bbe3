"""Long paragraphs: split at sentence boundaries, never truncated silently (evalkit.systems.chunking)."""

from __future__ import annotations

import pytest

from evalkit.systems.chunking import chunk_text, join_pieces, split_sentences
from evalkit.systems.prompting import clean_answer, render_prompt


@pytest.mark.parametrize(("text", "sentences"), [
    ("我收到了你的信。我同意。", ["我收到了你的信。", "我同意。"]),
    ("他说：“和平！”我们同意？是的；好", ["他说：“和平！”", "我们同意？", "是的；", "好"]),
    ("等等……然后", ["等等……", "然后"]),
    ("第一行\n第二行。", ["第一行", "第二行。"]),
    ("没有标点", ["没有标点"]),
])
def test_split_sentences_keeps_enders_and_closing_quotes_with_their_sentence(text, sentences):
    assert split_sentences(text) == sentences


def test_a_short_text_is_one_piece():
    assert chunk_text("短句。", len, 10).pieces == ["短句。"]


@pytest.mark.parametrize("limit", [10, 14, 20])
def test_pieces_fit_the_limit_and_lose_nothing(limit):
    text = "我收到了你的信。我完全同意。这种直接通信很重要！你同意吗？是的。"
    chunked = chunk_text(text, len, limit)
    assert not chunked.truncated
    assert all(len(p) <= limit for p in chunked.pieces)
    assert "".join(chunked.pieces) == text
    assert len(chunked.pieces) > 1


def test_an_overlong_sentence_is_split_at_clauses_before_anything_is_cut():
    text = "美国，英国，法国和苏联，都同意。"
    chunked = chunk_text(text, len, 6)
    assert not chunked.truncated and "".join(chunked.pieces) == text


# Chunking policy 2 (issue 11, item 5): a clause still over the limit is no longer cut to the
# limit with its tail lost (the old test here asserted ``truncated`` for this very text); it is
# split into consecutive pieces that fit, and nothing is dropped.
def test_a_clause_still_over_the_limit_is_split_not_cut():
    text = "这是一个非常非常长而且没有任何标点的句子。短句。"
    chunked = chunk_text(text, len, 8)
    assert not chunked.truncated
    assert all(len(p) <= 8 for p in chunked.pieces)
    assert "".join(chunked.pieces) == text


def _with_overhead(extra):
    return lambda s: len(s) + extra  # like special tokens or a prompt around every piece


@pytest.mark.parametrize("n", [1, 7, 8, 9, 50, 257])
@pytest.mark.parametrize("k", [1, 2, 8, 13])
@pytest.mark.parametrize("overhead", [0, 3])
def test_an_unbroken_clause_of_n_characters_gives_about_n_over_k_pieces_that_rejoin_exactly(n, k, overhead):
    clause = ("长句没有标点符号" * 40)[:n]
    limit = k + overhead  # room for k characters per piece
    count = _with_overhead(overhead)
    chunked = chunk_text(clause, count, limit)
    assert not chunked.truncated
    assert "".join(chunked.pieces) == clause
    assert all(count(p) <= limit for p in chunked.pieces)
    assert len(chunked.pieces) == -(-n // k)  # ceil(n / k): every piece but the last is full


@pytest.mark.parametrize("space", [" ", "\u3000"])
@pytest.mark.parametrize("limit", [8, 11, 17, 25])  # the longest word and a space fit
def test_an_overlong_clause_with_spaces_is_split_at_spaces(space, limit):
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    clause = space.join(words)  # no sentence or clause mark: one clause
    chunked = chunk_text(clause, len, limit)
    assert not chunked.truncated
    assert "".join(chunked.pieces) == clause
    assert all(len(p) <= limit for p in chunked.pieces)
    assert len(chunked.pieces) > 1
    for left, right in zip(chunked.pieces, chunked.pieces[1:]):
        assert left.endswith(space) or right.startswith(space), (left, right)
    # no word is broken: each piece is whole words and spaces
    assert all(w in words for p in chunked.pieces for w in p.split(space) if w)


def test_a_word_longer_than_the_limit_is_split_at_characters_between_space_cuts():
    clause = "go supercalifragilistic now"
    chunked = chunk_text(clause, len, 8)
    assert not chunked.truncated
    assert "".join(chunked.pieces) == clause
    assert all(len(p) <= 8 for p in chunked.pieces)
    assert chunked.pieces[0] == "go "  # the space cut comes first


def test_a_long_paragraph_splits_at_sentences_then_clauses_then_spaces_then_characters():
    text = "短句。很长的从句没有任何标点符号也没有空格，then an English clause with spaces。尾。"
    chunked = chunk_text(text, len, 9)
    assert not chunked.truncated
    assert "".join(chunked.pieces) == text
    assert all(len(p) <= 9 for p in chunked.pieces)
    assert chunked.pieces[0] == "短句。"


@pytest.mark.parametrize("text", ["普通文字", "普通 文字", "普通，文字。后面"])
def test_nothing_is_truncated_when_one_character_fits(text):
    chunked = chunk_text(text, _with_overhead(4), 5)  # exactly one character per piece
    assert not chunked.truncated
    assert "".join(chunked.pieces) == text


def test_a_character_that_alone_exceeds_the_limit_is_the_only_thing_left_out_and_is_flagged():
    def count(s):
        return len(s) + 9 * s.count("龘")  # one character the "tokenizer" makes 10 tokens of
    text = "这是一个很长的句子里有龘这个字还有很多别的字"
    chunked = chunk_text(text, count, 6)
    assert chunked.truncated
    assert "".join(chunked.pieces) == text.replace("龘", "")
    assert all(count(p) <= 6 for p in chunked.pieces)


@pytest.mark.parametrize(("count", "limit"), [(_with_overhead(3), 2), (_with_overhead(5), 5)])
def test_a_limit_too_small_for_anything_gives_one_empty_piece_flagged(count, limit):
    chunked = chunk_text("任何文字都放不下。", count, limit)
    assert chunked.truncated
    assert chunked.pieces == [""]


def test_splitting_a_long_clause_costs_few_tokenizer_calls():
    calls = []

    def count(s):
        calls.append(len(s))
        return len(s)
    clause = "字" * 20_000
    chunked = chunk_text(clause, count, 100)
    assert len(chunked.pieces) == 200 and "".join(chunked.pieces) == clause
    assert len(calls) < 200 * 20  # O(log k) calls per piece, not O(n) or O(n / k) per piece
    assert sum(calls) < 60 * len(clause)  # each call on about a piece, not on the whole rest


def test_join_pieces_uses_single_spaces():
    assert join_pieces(["One. ", "", " Two."]) == "One. Two."


@pytest.mark.parametrize(("answer", "clean"), [
    ("Here is the translation:\nI received your letter.", "I received your letter."),
    ("Sure! Here's the English translation:\n\n\"I received your letter.\"", "I received your letter."),
    ("Translation: I received your letter.", "I received your letter."),
    ("“I received your letter.”", "I received your letter."),
    ("<think>the user wants…</think>\nI received your letter.", "I received your letter."),
    ("```\nI received your letter.\n```", "I received your letter."),
    ('He said "peace" and "war".', 'He said "peace" and "war".'),
    ("I received your letter.\nThen I replied.", "I received your letter.\nThen I replied."),
])
def test_clean_answer_removes_chat_preambles_and_wrapping_quotes(answer, clean):
    assert clean_answer(answer) == clean


def test_render_prompt_fills_only_the_text_field():
    assert render_prompt("Translate {text} {other}", "信") == "Translate 信 {other}"
