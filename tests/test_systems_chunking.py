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


def test_only_a_clause_still_over_the_limit_is_cut_and_flagged():
    text = "这是一个非常非常长而且没有任何标点的句子。短句。"
    chunked = chunk_text(text, len, 8)
    assert chunked.truncated
    assert all(len(p) <= 8 for p in chunked.pieces)
    assert chunked.pieces[-1] == "短句。"


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
