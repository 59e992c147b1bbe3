"""The ``openai`` backend against a real HTTP server started on 127.0.0.1 by the test."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from evalkit.config import RunConfig, SystemConfig
from evalkit.errors import BackendError, ConfigError
from evalkit.systems.base import Segment, create_system
from evalkit.systems.cache import TranslationCache, cache_path
from evalkit.systems.runner import translate_system
from tiny_models import seed_references

SECRET = "sk-test-0123456789abcdef"


@dataclass
class Script:
    """What the fake endpoint answers: ``statuses`` are consumed one per request (then 200),
    unless ``always`` is set; ``ok_then_fail`` answers that many requests and then 500s."""

    statuses: list[int] = field(default_factory=list)
    always: int | None = None
    ok_then_fail: int | None = None
    requests: list[dict] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self) -> int:
        with self.lock:
            served = len(self.requests)
            if self.always is not None:
                return self.always
            if self.ok_then_fail is not None:
                return 200 if served <= self.ok_then_fail else 500
            return self.statuses.pop(0) if self.statuses else 200


def make_handler(script: Script):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with script.lock:
                script.requests.append(body)
                script.auth.append(self.headers.get("Authorization", ""))
            status = script.next_status()
            if self.path != "/v1/chat/completions":
                status = 404
            if status == 200:
                zh = body["messages"][-1]["content"].split("\n\n", 1)[-1]  # the default prompt ends "\n\n{text}"
                answer = f'Here is the translation:\n"EN[{zh}]"'
                payload = {"choices": [{"message": {"role": "assistant", "content": answer}}]}
            else:
                payload = {"error": {"message": f"status {status}"}}
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def endpoint() -> Iterator[tuple[str, Script]]:
    script = Script()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(script))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", script
    finally:
        server.shutdown()
        server.server_close()


def openai_system(base_url: str, **options) -> SystemConfig:
    options = {"model": "qwen2.5-7b-instruct", "retries": 3, "backoff": 0.01, "timeout": 5, **options}
    return SystemConfig(name="llm", backend="openai", base_url=base_url, **options)


def test_translates_the_seed_and_cleans_the_answers(endpoint):
    url, script = endpoint
    refs = seed_references()
    system = openai_system(url, concurrency=4)
    records = translate_system(RunConfig(reference="x", systems=[system]), system, refs)
    assert [r.id for r in records] == [r.id for r in refs]
    for record, ref in zip(records, refs, strict=True):
        assert record.hyp == (f"EN[{ref.zh}]" if ref.zh else "")
    assert len(script.requests) == len({r.zh for r in refs if r.zh})
    request = script.requests[0]
    assert request["model"] == "qwen2.5-7b-instruct" and request["temperature"] == 0
    assert [m["role"] for m in request["messages"]] == ["system", "user"]


def test_429_then_200_is_retried(endpoint):
    url, script = endpoint
    script.statuses = [429, 429]
    (result,) = create_system(openai_system(url)).translate([Segment("a", "信")])
    assert result.hyp == "EN[信]"
    assert len(script.requests) == 3


def test_500_is_retried_with_backoff_then_reported(endpoint):
    url, script = endpoint
    script.always = 500
    with pytest.raises(BackendError, match=r"still failing after 4 attempts \(HTTP 500"):
        create_system(openai_system(url)).translate([Segment("a", "信")])
    assert len(script.requests) == 4


def test_400_fails_at_once_with_the_reason(endpoint):
    url, script = endpoint
    script.always = 400
    with pytest.raises(BackendError, match=r"rejected the request \(HTTP 400: .*status 400"):
        create_system(openai_system(url)).translate([Segment("a", "信")])
    assert len(script.requests) == 1


def test_an_endpoint_that_is_down_is_a_clear_error():
    system = create_system(openai_system("http://127.0.0.1:9/v1", retries=1))
    with pytest.raises(BackendError, match="cannot reach the endpoint.*is the server up"):
        system.translate([Segment("a", "信")])


def test_paragraphs_translated_before_the_endpoint_went_down_stay_cached(endpoint):
    url, script = endpoint
    script.ok_then_fail = 3
    refs = [r for r in seed_references() if r.zh][:8]
    system = openai_system(url, concurrency=1, batch_size=8)
    config = RunConfig(reference="x", systems=[system])
    with pytest.raises(BackendError):
        translate_system(config, system, refs)
    fingerprint = create_system(system).fingerprint
    with TranslationCache(cache_path(None)) as cache:
        assert cache.count(fingerprint) == 3
    script.ok_then_fail = None  # the server is back
    before = len(script.requests)
    records = translate_system(config, system, refs)
    assert len(script.requests) - before == len(refs) - 3
    assert sum(r.cached for r in records) == 3


def test_the_api_key_is_sent_but_never_written(endpoint, monkeypatch, tmp_path):
    url, script = endpoint
    monkeypatch.setenv("EVALKIT_TEST_KEY", SECRET)
    system = openai_system(url, api_key_env="EVALKIT_TEST_KEY")
    refs = [r for r in seed_references() if r.zh][:2]
    from evalkit.systems.runner import translate_to_files

    translate_to_files(RunConfig(reference="x", systems=[system]), refs, tmp_path / "run")
    assert script.auth[0] == f"Bearer {SECRET}"
    translator = create_system(system)
    assert SECRET not in json.dumps(translator.settings()) and SECRET not in translator.fingerprint
    assert SECRET not in (tmp_path / "run" / "hyps" / "llm.jsonl").read_text()
    assert SECRET.encode() not in cache_path(None).read_bytes()


def test_an_unset_key_variable_is_a_config_error(endpoint, monkeypatch):
    url, _ = endpoint
    monkeypatch.delenv("EVALKIT_MISSING_KEY", raising=False)
    with pytest.raises(ConfigError, match="EVALKIT_MISSING_KEY"):
        create_system(openai_system(url, api_key_env="EVALKIT_MISSING_KEY"))


def test_concurrency_limits_requests_in_flight(endpoint):
    url, script = endpoint
    in_flight, peak = 0, 0
    lock = threading.Lock()
    translator = create_system(openai_system(url, concurrency=2))
    original = translator._request

    def counting(text: str) -> str:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            return original(text)
        finally:
            with lock:
                in_flight -= 1

    translator._request = counting
    out = translator.translate([Segment(str(i), f"第{i}段。") for i in range(10)])
    assert [t.hyp for t in out] == [f"EN[第{i}段。]" for i in range(10)]
    assert peak <= 2


def test_long_paragraphs_can_be_split_by_characters(endpoint):
    url, _ = endpoint
    (result,) = create_system(openai_system(url, max_input_chars=6)).translate([Segment("a", "我收到了信。我同意。好的。")])
    assert result.chunks == 3 and not result.truncated
    assert result.hyp == "EN[我收到了信。] EN[我同意。] EN[好的。]"
