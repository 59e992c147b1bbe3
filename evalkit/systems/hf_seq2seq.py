"""``hf-seq2seq``: any ``AutoModelForSeq2SeqLM`` (hub id or local folder), called through ``generate``.

transformers 5 has no translation pipeline, so this drives ``model.generate`` itself: paragraphs
chunked to the model's input limit, pieces sorted by token length and batched, language
handling per model family, out-of-memory batches halved.

Options
-------
``model`` (required)    hub id (``Helsinki-NLP/opus-mt-zh-en``) or a local folder.
``revision``            hub revision (branch, tag or commit).
``tokenizer``           a different tokenizer id/folder (default: the model's).
``family``              ``auto`` (default; from the model and tokenizer classes), ``marian``, ``nllb``,
                        ``m2m100``, ``mbart50``, ``t5``, ``generic``.
``src_lang``/``tgt_lang`` language codes (defaults per family: nllb zho_Hans → eng_Latn; m2m100 zh → en;
                        mbart50 zh_CN → en_XX).
``prefix``              text put before every input (T5 "translate Chinese to English: ", MADLAD "<2en> ").
``batch_size``          pieces per ``generate`` call (default 16).
``max_input_tokens``    input limit in model tokens (default: from the model's config and tokenizer).
``generation``          keyword arguments for ``generate`` (default ``{num_beams: 4}`` and
                        ``max_new_tokens`` 1.5 × the input limit).
``device``              ``auto`` (cuda > mps > cpu) or e.g. ``cuda:1``, ``cpu``.
``dtype``               ``auto`` (bf16/fp16 on GPU, fp32 on CPU), ``float32``, ``float16``, ``bfloat16``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evalkit.config import SystemConfig
from evalkit.errors import BackendError, ConfigError
from evalkit.systems.base import checked_options, Segment, Translation, Translator
from evalkit.systems.chunking import CHUNKING_POLICY
from evalkit.systems.hf_common import input_limit, load_pretrained, resolve_model, translate_chunked

_M2M_LANG = re.compile(r"__[a-z]{2,3}(?:_[A-Za-z]+)?__")
OPTIONS = {"model", "revision", "tokenizer", "family", "src_lang", "tgt_lang", "prefix", "batch_size",
           "max_input_tokens", "generation", "device", "dtype"}
FAMILIES = ("marian", "nllb", "m2m100", "mbart50", "t5", "generic")


@dataclass(frozen=True, slots=True)
class FamilyDefaults:
    src_lang: str | None = None
    tgt_lang: str | None = None
    prefix: str = ""


DEFAULTS = {
    "marian": FamilyDefaults(),
    "nllb": FamilyDefaults("zho_Hans", "eng_Latn"),
    "m2m100": FamilyDefaults("zh", "en"),
    "mbart50": FamilyDefaults("zh_CN", "en_XX"),
    "t5": FamilyDefaults(prefix="translate Chinese to English: "),
    "madlad": FamilyDefaults(prefix="<2en> "),
    "generic": FamilyDefaults(),
}


def detect_family(model_type: str, tokenizer_class: str, model_ref: str) -> str:
    """The language-handling family from the model type and the tokenizer class."""
    tok = tokenizer_class.lower()
    if "nllb" in tok:
        return "nllb"  # NLLB models have model_type m2m_100; only the tokenizer tells them apart
    if model_type == "marian":
        return "marian"
    if model_type == "m2m_100":
        return "m2m100"
    if "mbart50" in tok or (model_type == "mbart" and "50" in model_ref):
        return "mbart50"
    if model_type in {"t5", "mt5", "umt5", "longt5"}:
        return "madlad" if "madlad" in model_ref.lower() else "t5"
    return "generic"


def options_of(config: SystemConfig) -> dict[str, Any]:
    options = checked_options(config, OPTIONS)
    family = options.get("family", "auto")
    if family not in ("auto", *FAMILIES, "madlad"):
        raise ConfigError(f"system {config.name!r}: family must be auto or one of {', '.join(FAMILIES)}, got {family!r}")
    generation = options.get("generation") or {}
    if not isinstance(generation, dict):
        raise ConfigError(f"system {config.name!r}: 'generation' must be a mapping of generate() arguments")
    return options


class Seq2SeqTranslator(Translator):
    backend = "hf-seq2seq"

    def __init__(self, config: SystemConfig):
        super().__init__(config)
        self.options = options_of(config)
        self.source = resolve_model(self.options.get("model", ""), self.options.get("revision"), self.name)
        tok = self.options.get("tokenizer")
        self.tokenizer_source = resolve_model(tok, None, self.name) if tok else self.source
        self.batch_size = int(self.options.get("batch_size", 16))
        self._loaded = False

    def settings(self) -> dict[str, Any]:
        import transformers

        explicit = {k: v for k, v in self.options.items() if k not in {"model", "revision", "tokenizer", "batch_size", "device"}}
        return {"model": self.source.identity(), "tokenizer": self.tokenizer_source.identity(), **explicit,
                "chunking": CHUNKING_POLICY, "transformers": transformers.__version__.split(".")[0]}

    # -- loading ---------------------------------------------------------------------------
    def _load(self) -> None:
        if self._loaded:
            return
        import torch
        from transformers import AutoModelForSeq2SeqLM

        self.tokenizer, self.model, self.device = load_pretrained(
            self.name, AutoModelForSeq2SeqLM, self.source, self.tokenizer_source, self.options)
        family = self.options.get("family", "auto")
        if family == "auto":
            family = detect_family(self.model.config.model_type, type(self.tokenizer).__name__, self.source.ref)
        self.family = family
        defaults = DEFAULTS[family]
        self.prefix = str(self.options.get("prefix", defaults.prefix))
        self.src_lang = self.options.get("src_lang", defaults.src_lang)
        self.tgt_lang = self.options.get("tgt_lang", defaults.tgt_lang)
        self.forced_bos: int | None = None
        if self.src_lang and hasattr(self.tokenizer, "src_lang"):
            self.tokenizer.src_lang = self.src_lang
        if self.tgt_lang:
            self.forced_bos = self._token_id(self.tgt_lang)
        self.limit = input_limit(self.options.get("max_input_tokens"), self.model.config, self.tokenizer)
        generation = dict(self.options.get("generation") or {})
        generation.setdefault("num_beams", 4)
        generation.setdefault("max_new_tokens", max(16, self.limit * 3 // 2))
        self.generation = generation
        self._torch = torch
        self._loaded = True

    def _token_id(self, lang: str) -> int:
        # M2M100 names its language tokens __en__ and offers get_lang_id; NLLB and mBART-50 use the code itself.
        if self.family == "m2m100" and hasattr(self.tokenizer, "get_lang_id"):
            try:
                return int(self.tokenizer.get_lang_id(lang))
            except KeyError:
                pass
        token_id = self.tokenizer.convert_tokens_to_ids(lang)
        if token_id is None or token_id == self.tokenizer.unk_token_id:
            raise BackendError(f"system {self.name!r}: target language {lang!r} is not a token of this tokenizer "
                               f"({type(self.tokenizer).__name__}); set tgt_lang to one of its language codes")
        return int(token_id)

    # -- translating -----------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        """Tokens the model receives for ``text``: prefix and special tokens included."""
        # verbose=False: measuring an over-long text is the point here, not an indexing error.
        return len(self.tokenizer(self.prefix + text, verbose=False)["input_ids"])

    def translate(self, segments: Sequence[Segment]) -> list[Translation]:
        self._load()
        return translate_chunked([seg.zh for seg in segments], self.count_tokens, self.limit, self.batch_size,
                                 self._generate, lengths=self._token_lengths)

    def _token_lengths(self, pieces: list[str]) -> list[int]:
        return [len(ids) for ids in self.tokenizer([self.prefix + p for p in pieces], verbose=False)["input_ids"]]

    def _generate(self, texts: Sequence[str]) -> list[str]:
        torch = self._torch
        batch = self.tokenizer([self.prefix + t for t in texts], return_tensors="pt", padding=True)
        if batch["input_ids"].shape[1] > self.limit:  # the chunker guarantees this; never cut silently
            raise RuntimeError(f"{self.name}: input of {batch['input_ids'].shape[1]} tokens exceeds the limit {self.limit}")
        batch = {k: v.to(self.device) for k, v in batch.items()}
        kwargs = dict(self.generation)
        if self.forced_bos is not None:
            kwargs["forced_bos_token_id"] = self.forced_bos
        with torch.inference_mode():
            out = self.model.generate(**batch, **kwargs)
        return [self._clean(t) for t in self.tokenizer.batch_decode(out, skip_special_tokens=True)]

    def _clean(self, text: str) -> str:
        # skip_special_tokens leaves M2M100's language tokens (__en__, …) and sometimes a stray
        # target code (eng_Latn, en_XX) at the start of the output.
        text = text.strip()
        if self.family == "m2m100":
            text = _M2M_LANG.sub(" ", text)
        if self.tgt_lang and text.startswith(self.tgt_lang):
            text = text[len(self.tgt_lang):]
        return " ".join(text.split())

    def close(self) -> None:
        if self._loaded:
            del self.model
            self._loaded = False
