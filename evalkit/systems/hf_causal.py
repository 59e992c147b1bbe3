"""``hf-causal``: instruction LLMs (Qwen2.5-Instruct style) through the tokenizer's chat template.

Each paragraph (or piece of one) becomes a chat: ``system_prompt`` then ``prompt`` with
``{text}`` replaced by the Chinese (defaults in ``evalkit.systems.prompting``). Generation is
greedy and batched with left padding; the answer is cleaned of preambles and wrapping quotes.

Options
-------
``model`` (required), ``revision``, ``tokenizer``, ``device``, ``dtype``, ``batch_size`` (default 8):
    as for ``hf-seq2seq``.
``prompt``            the user message, with ``{text}`` (default ``prompting.DEFAULT_PROMPT``).
``system_prompt``     the system message (default ``prompting.DEFAULT_SYSTEM_PROMPT``; "" for none).
``max_input_tokens``  limit on the whole rendered chat (prompt included), in model tokens; default:
                      the context length minus ``max_new_tokens``.
``generation``        ``generate`` arguments; default greedy, ``max_new_tokens`` 1024.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evalkit.config import SystemConfig
from evalkit.errors import BackendError, ConfigError
from evalkit.systems.base import checked_options, Segment, Translation, Translator
from evalkit.systems.chunking import CHUNKING_POLICY
from evalkit.systems.hf_common import input_limit, load_pretrained, resolve_model, translate_chunked
from evalkit.systems.prompting import DEFAULT_PROMPT, DEFAULT_SYSTEM_PROMPT, clean_answer, render_prompt

OPTIONS = {"model", "revision", "tokenizer", "prompt", "system_prompt", "batch_size", "max_input_tokens",
           "generation", "device", "dtype"}
DEFAULT_MAX_NEW_TOKENS = 1024


class CausalTranslator(Translator):
    backend = "hf-causal"

    def __init__(self, config: SystemConfig):
        super().__init__(config)
        options = checked_options(config, OPTIONS)
        self.options = options
        self.prompt = str(options.get("prompt", DEFAULT_PROMPT))
        if "{text}" not in self.prompt:
            raise ConfigError(f"system {self.name!r}: 'prompt' must contain {{text}} where the Chinese goes")
        self.system_prompt = str(options.get("system_prompt", DEFAULT_SYSTEM_PROMPT))
        generation = options.get("generation") or {}
        if not isinstance(generation, dict):
            raise ConfigError(f"system {self.name!r}: 'generation' must be a mapping of generate() arguments")
        self.generation = {"do_sample": False, "max_new_tokens": DEFAULT_MAX_NEW_TOKENS, **generation}
        self.source = resolve_model(options.get("model", ""), options.get("revision"), self.name)
        tok = options.get("tokenizer")
        self.tokenizer_source = resolve_model(tok, None, self.name) if tok else self.source
        self.batch_size = int(options.get("batch_size", 8))
        self._loaded = False

    def settings(self) -> dict[str, Any]:
        import transformers

        return {"model": self.source.identity(), "tokenizer": self.tokenizer_source.identity(),
                "prompt": self.prompt, "system_prompt": self.system_prompt, "generation": self.generation,
                "max_input_tokens": self.options.get("max_input_tokens"), "dtype": self.options.get("dtype", "auto"),
                "chunking": CHUNKING_POLICY, "transformers": transformers.__version__.split(".")[0]}

    def _load(self) -> None:
        if self._loaded:
            return
        import torch
        from transformers import AutoModelForCausalLM

        self.tokenizer, self.model, self.device = load_pretrained(
            self.name, AutoModelForCausalLM, self.source, self.tokenizer_source, self.options)
        if not getattr(self.tokenizer, "chat_template", None):
            raise BackendError(f"system {self.name!r}: the tokenizer of {self.source.ref} has no chat template; "
                               "hf-causal needs an instruction-tuned (chat) model")
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token  # batching needs a pad token; it is masked out
        context = input_limit(None, self.model.config, self.tokenizer, default=4096)
        configured = self.options.get("max_input_tokens")
        self.limit = input_limit(configured, self.model.config, self.tokenizer) if configured is not None \
            else context - int(self.generation["max_new_tokens"])
        if self.limit < self.count_tokens("") + 8:
            raise BackendError(f"system {self.name!r}: the prompt leaves no room for text within {self.limit} tokens "
                               f"(context {context}, max_new_tokens {self.generation['max_new_tokens']}); "
                               "lower max_new_tokens or shorten the prompt")
        self._torch = torch
        self._loaded = True

    def render(self, text: str) -> str:
        messages = [{"role": "user", "content": render_prompt(self.prompt, text)}]
        if self.system_prompt:
            messages.insert(0, {"role": "system", "content": self.system_prompt})
        # tokenize=False returns the rendered string (tokenize=True returns a dict in transformers 5).
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def count_tokens(self, text: str) -> int:
        """Tokens of the whole rendered chat for ``text``: what counts against the context."""
        return len(self.tokenizer(self.render(text), add_special_tokens=False, verbose=False)["input_ids"])

    def translate(self, segments: Sequence[Segment]) -> list[Translation]:
        self._load()
        return translate_chunked([seg.zh for seg in segments], self.count_tokens, self.limit, self.batch_size,
                                 self._generate)

    def _generate(self, texts: Sequence[str]) -> list[str]:
        torch = self._torch
        prompts = [self.render(t) for t in texts]
        # Left padding: every prompt ends where generation starts, so one batch decodes in step.
        batch = self.tokenizer(prompts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
        if batch["input_ids"].shape[1] > self.limit:  # the chunker guarantees this; never cut silently
            raise RuntimeError(f"{self.name}: input of {batch['input_ids'].shape[1]} tokens exceeds the limit {self.limit}")
        batch = {k: v.to(self.device) for k, v in batch.items()}
        with torch.inference_mode():
            out = self.model.generate(**batch, pad_token_id=self.tokenizer.pad_token_id, **self.generation)
        new_tokens = out[:, batch["input_ids"].shape[1]:]
        return [clean_answer(t) for t in self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]

    def close(self) -> None:
        if self._loaded:
            del self.model
            self._loaded = False
