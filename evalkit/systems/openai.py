"""``openai``: any OpenAI-compatible ``/v1/chat/completions`` endpoint (vLLM, llama.cpp server,
Ollama, TGI, commercial APIs).

Options
-------
``base_url`` (required)  e.g. ``http://localhost:8000/v1`` (``/chat/completions`` is appended).
``model`` (required)     the model name the endpoint serves.
``api_key_env``          the NAME of an environment variable holding the key (sent as a Bearer token).
                         The key itself is never written anywhere: not in the fingerprint, the
                         cache, the logs, the hyps or the summary.
``prompt``, ``system_prompt``  as for ``hf-causal`` (defaults in ``evalkit.systems.prompting``).
``generation``           extra request fields (default ``{temperature: 0, max_tokens: 1024}``).
``concurrency``          requests in flight at once (default 4).
``timeout``              seconds per request (default 120).
``retries``              further attempts after a 429, a 5xx, a timeout or a refused connection
                         (default 5), waiting ``backoff`` × 2^attempt seconds (default 1, at most
                         60; a ``Retry-After`` header is honoured). Any other 4xx fails at once.
``max_input_chars``      split paragraphs longer than this at sentence boundaries (default: no limit).
``batch_size``           paragraphs per cache commit (default 4 × concurrency).

When a request finally fails, the paragraphs already translated are handed to the runner (a
``PartialTranslationError``) and cached, so a rerun pays only for the rest.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

from evalkit.config import SystemConfig
from evalkit.errors import BackendError, ConfigError
from evalkit.systems.base import checked_options, PartialTranslationError, Segment, Translation, Translator
from evalkit.systems.chunking import CHUNKING_POLICY, chunk_text, join_pieces
from evalkit.systems.prompting import DEFAULT_PROMPT, DEFAULT_SYSTEM_PROMPT, clean_answer, render_prompt

OPTIONS = {"base_url", "model", "api_key_env", "prompt", "system_prompt", "generation", "concurrency", "timeout",
           "retries", "backoff", "max_input_chars", "batch_size"}
RETRY_STATUS = {408, 409, 425, 429} | set(range(500, 600))
MAX_WAIT_S = 60.0


class EndpointError(BackendError):
    """One request failed for good; ``retryable`` tells whether more attempts could have helped."""

    def __init__(self, message: str, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


class OpenAITranslator(Translator):
    backend = "openai"

    def __init__(self, config: SystemConfig):
        super().__init__(config)
        options = checked_options(config, OPTIONS)
        for required in ("base_url", "model"):
            if not options.get(required):
                raise ConfigError(f"system {self.name!r} (openai): {required!r} is required")
        self.url = str(options["base_url"]).rstrip("/") + "/chat/completions"
        self.model = str(options["model"])
        self.prompt = str(options.get("prompt", DEFAULT_PROMPT))
        if "{text}" not in self.prompt:
            raise ConfigError(f"system {self.name!r}: 'prompt' must contain {{text}} where the Chinese goes")
        self.system_prompt = str(options.get("system_prompt", DEFAULT_SYSTEM_PROMPT))
        self.generation = {"temperature": 0, "max_tokens": 1024, **(options.get("generation") or {})}
        self.concurrency = max(1, int(options.get("concurrency", 4)))
        self.timeout = float(options.get("timeout", 120))
        self.retries = max(0, int(options.get("retries", 5)))
        self.backoff = float(options.get("backoff", 1.0))
        self.max_input_chars = options.get("max_input_chars")
        self.batch_size = int(options.get("batch_size", 4 * self.concurrency))
        self._api_key_env = options.get("api_key_env")
        if self._api_key_env and not os.environ.get(str(self._api_key_env)):
            raise ConfigError(f"system {self.name!r} (openai): environment variable {self._api_key_env} "
                              "(api_key_env) is not set")
        self._session: Any = None

    def settings(self) -> dict[str, Any]:
        # Everything that can change the output -- and nothing secret: the key stays out.
        return {"url": self.url, "model": self.model, "prompt": self.prompt, "system_prompt": self.system_prompt,
                "generation": self.generation, "max_input_chars": self.max_input_chars,
                "chunking": CHUNKING_POLICY if self.max_input_chars else None}

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._api_key_env:
            headers["Authorization"] = f"Bearer {os.environ[str(self._api_key_env)]}"
        return headers

    def _client(self) -> Any:
        if self._session is None:
            import requests

            self._session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_maxsize=self.concurrency)
            self._session.mount("http://", adapter)
            self._session.mount("https://", adapter)
        return self._session

    def _request(self, text: str) -> str:
        """One chat completion, retried on 429/5xx/connection errors with exponential backoff."""
        import requests

        messages = [{"role": "user", "content": render_prompt(self.prompt, text)}]
        if self.system_prompt:
            messages.insert(0, {"role": "system", "content": self.system_prompt})
        body = {"model": self.model, "messages": messages, **self.generation}
        last = ""
        for attempt in range(self.retries + 1):
            wait_s = min(MAX_WAIT_S, self.backoff * 2 ** attempt)
            try:
                response = self._client().post(self.url, json=body, headers=self._headers(), timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = f"{type(exc).__name__}: cannot reach the endpoint"
            else:
                if response.status_code == 200:
                    return self._answer(response)
                detail = response.text[:300].strip().replace("\n", " ")
                last = f"HTTP {response.status_code}: {detail}"
                if response.status_code not in RETRY_STATUS:
                    raise EndpointError(f"system {self.name!r}: {self.url} rejected the request ({last}); "
                                        "check model, base_url, api_key_env and generation options", retryable=False)
                retry_after = response.headers.get("Retry-After", "")
                if retry_after.replace(".", "", 1).isdigit():
                    wait_s = min(MAX_WAIT_S, float(retry_after))
            if attempt < self.retries:
                time.sleep(wait_s)
        raise EndpointError(f"system {self.name!r}: endpoint {self.url} still failing after {self.retries + 1} "
                            f"attempts ({last}); is the server up? Finished paragraphs are cached; rerun to resume",
                            retryable=True)

    def _answer(self, response: Any) -> str:
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise EndpointError(f"system {self.name!r}: {self.url} answered 200 but not with a chat completion: "
                                f"{response.text[:200]!r}", retryable=False) from None
        return clean_answer(content or "")

    def _pieces(self, zh: str) -> tuple[list[str], bool]:
        if not self.max_input_chars:
            return [zh], False
        chunked = chunk_text(zh, len, int(self.max_input_chars))
        return chunked.pieces, chunked.truncated

    def _translate_one(self, zh: str) -> Translation:
        pieces, truncated = self._pieces(zh)
        return Translation(join_pieces([self._request(p) for p in pieces]), chunks=len(pieces), truncated=truncated)

    def translate(self, segments: Sequence[Segment]) -> list[Translation]:
        done: dict[int, Translation] = {}
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix=f"evalkit-{self.name}") as pool:
            futures = {pool.submit(self._translate_one, seg.zh): i for i, seg in enumerate(segments)}
            finished, pending = wait(futures, return_when=FIRST_EXCEPTION)
            failure = next((f.exception() for f in finished if f.exception() is not None), None)
            if failure is not None:
                for future in pending:
                    future.cancel()  # not started yet: never sent
                wait(pending)  # let the requests in flight land, so their results are kept
                done = {i: f.result() for f, i in futures.items() if not f.cancelled() and f.exception() is None}
                raise PartialTranslationError(str(failure), done) from failure
        return [f.result() for f in sorted(futures, key=futures.get)]

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
