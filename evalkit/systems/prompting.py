"""Prompts for instruction LLMs (``hf-causal``, ``openai``) and cleaning of their answers.

The default prompt asks for the translation only; ``clean_answer`` still removes what chat
models add anyway — a preamble ("Here is the translation:"), a reasoning block, code fences,
quotes around the whole answer — so that chrF measures the translation and not the chatter.
"""

from __future__ import annotations

import re

DEFAULT_SYSTEM_PROMPT = ("You are a professional translator of historical Chinese newspaper articles "
                         "(People's Daily, 1946-1976) into English.")
DEFAULT_PROMPT = ("Translate the following Chinese text into English. Keep names, numbers and dates exact. "
                  "Output only the English translation, without notes or explanations.\n\n{text}")

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_FENCE = re.compile(r"^```[a-zA-Z]*\n?(.*?)\n?```$", re.DOTALL)
_PREAMBLE_LINE = re.compile(
    r"^(?:(?:sure|certainly|of course|okay|ok)\b[^\n]*|(?:here(?:'s| is| are)|below is)\b[^\n]*"
    r"|(?:the )?(?:english )?translation(?: is)?(?: as follows)?\s*:?\s*)$", re.IGNORECASE)
_INLINE_LABEL = re.compile(r"^(?:english(?: translation)?|translation)\s*:\s*", re.IGNORECASE)
_QUOTES = [('"', '"'), ("“", "”"), ("'", "'"), ("「", "」"), ("‘", "’")]


def render_prompt(template: str, text: str) -> str:
    """The user message: ``{text}`` in ``template`` replaced by the Chinese text (only that field)."""
    if "{text}" not in template:
        raise ValueError("the prompt template must contain {text}")
    return template.replace("{text}", text)


def clean_answer(answer: str) -> str:
    """The translation inside a chat model's answer (see the module docstring)."""
    text = _THINK.sub("", answer).strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    lines = text.split("\n")
    # A first line that only announces the answer ("Here is the translation:") is dropped.
    if len(lines) > 1 and _PREAMBLE_LINE.match(lines[0].strip()) and lines[0].strip().endswith((":", "：", ".", "!")):
        text = "\n".join(lines[1:]).strip()
    text = _INLINE_LABEL.sub("", text).strip()
    for left, right in _QUOTES:
        inner = text[len(left):-len(right)]
        if len(text) >= 2 and text.startswith(left) and text.endswith(right) and left not in inner and right not in inner:
            text = inner.strip()
            break
    return text
