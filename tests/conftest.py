"""Shared fixtures: the corpus files copied from the archive (tests/data) and offline settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# No test may reach the Hugging Face Hub: without this a hub id stalls ~47 s in retries.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "corpus"
ARTICLES = CORPUS / "articles"
GOLD = CORPUS / "gold"
CORPUS_HYPS = CORPUS / "hyps"
SEED = DATA / "seed" / "000_53f484adf56f99c2.txt"
SEED_HYPS = DATA / "seed" / "hyps" / "000_53f484adf56f99c2.jsonl"
REPO = Path(__file__).parent.parent


@pytest.fixture
def seed_path() -> Path:
    return SEED


@pytest.fixture
def articles_dir() -> Path:
    return ARTICLES


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory):
    # Module- and session-scoped fixtures run before the per-test cache below: give them a
    # throw-away cache too, so no test ever writes to the repository's .evalkit-cache/.
    previous = os.environ.get("EVALKIT_CACHE")
    os.environ["EVALKIT_CACHE"] = str(tmp_path_factory.mktemp("session-cache") / "translations.sqlite")
    yield
    if previous is None:
        os.environ.pop("EVALKIT_CACHE", None)
    else:
        os.environ["EVALKIT_CACHE"] = previous


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    # Tests never share (or pollute) a user's translation cache.
    monkeypatch.setenv("EVALKIT_CACHE", str(tmp_path / "cache" / "translations.sqlite"))
