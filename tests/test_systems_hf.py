"""hf-seq2seq and hf-causal with tiny offline models, loaded through the path a hub id takes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import tiny_models
from evalkit.config import RunConfig, SystemConfig
from evalkit.errors import BackendError
from evalkit.systems.base import Segment, create_system
from evalkit.systems.chunking import split_sentences
from evalkit.systems.runner import translate_system
from tiny_models import seed_references

FAST = {"max_new_tokens": 6, "num_beams": 1}


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """Build each tiny model once per session, on demand."""
    import torch

    torch.set_num_threads(1)  # tiny matrices: threads only fight over the shared cores
    root = tmp_path_factory.mktemp("tiny-models")
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            built[name] = getattr(tiny_models, f"build_{name}")(root / name)
        return built[name]

    return get


def seq2seq(tiny, family: str, **options) -> SystemConfig:
    options.setdefault("generation", FAST)
    return SystemConfig(name=f"tiny-{family}", backend="hf-seq2seq", model=str(tiny(family)), **options)


def causal(tiny, **options) -> SystemConfig:
    options.setdefault("generation", {"max_new_tokens": 6})
    return SystemConfig(name="tiny-qwen", backend="hf-causal", model=str(tiny("causal_lm")), **options)


def long_paragraph(count_tokens, limit: int, factor: int = 3) -> str:
    """Whole seed sentences, each under the limit, until the paragraph is ``factor`` × the limit."""
    sentences = [s for r in seed_references() for s in split_sentences(r.zh) if count_tokens(s) < limit // 2]
    text = ""
    for sentence in sentences:
        text += sentence
        if count_tokens(text) >= factor * limit:
            return text
    raise AssertionError("the seed is too short to build the paragraph")


SEQ2SEQ = ["marian", "nllb", "m2m100", "mbart50", "t5"]


@pytest.mark.parametrize("family", SEQ2SEQ)
def test_seq2seq_family_translates_the_seed_reference_set(tiny, family):
    refs = seed_references()
    system = seq2seq(tiny, family)
    records = translate_system(RunConfig(reference="x", systems=[system]), system, refs)
    assert [r.id for r in records] == [r.id for r in refs]
    assert all(r.system.startswith(f"tiny-{family}@") for r in records)
    assert all(r.chunks >= 1 for r, ref in zip(records, refs, strict=True) if ref.zh)
    assert not any("__en__" in r.hyp or "eng_Latn" in r.hyp for r in records)


@pytest.mark.parametrize("family", SEQ2SEQ)
def test_a_paragraph_three_times_the_input_limit_comes_back_in_chunks(tiny, family):
    with create_system(seq2seq(tiny, family)) as translator:
        translator._load()
        text = long_paragraph(translator.count_tokens, translator.limit)
        (result,) = translator.translate([Segment("long", text)])
    assert result.chunks >= 3
    assert not result.truncated


@pytest.mark.parametrize(("family", "src_token", "tgt_token"), [
    ("nllb", "zho_Hans", "eng_Latn"),
    ("m2m100", "__zh__", "__en__"),
    ("mbart50", "zh_CN", "en_XX"),
])
def test_multilingual_families_mark_the_source_and_force_the_english_bos(tiny, family, src_token, tgt_token):
    with create_system(seq2seq(tiny, family)) as translator:
        translator._load()
        assert translator.family == family
        tok = translator.tokenizer
        ids = tok("我收到了你的信。")["input_ids"]
        assert tok.convert_tokens_to_ids(src_token) in ids
        assert translator.forced_bos == tok.convert_tokens_to_ids(tgt_token)
        out = translator.model.generate(**tok(["信"], return_tensors="pt"), forced_bos_token_id=translator.forced_bos,
                                        max_new_tokens=3)
        assert out[0, 1].item() == translator.forced_bos


@pytest.mark.parametrize(("family", "detected", "prefix"), [
    ("marian", "marian", ""),
    ("t5", "t5", "translate Chinese to English: "),
])
def test_family_is_detected_and_its_prefix_applied(tiny, family, detected, prefix):
    with create_system(seq2seq(tiny, family)) as translator:
        translator._load()
        assert (translator.family, translator.prefix) == (detected, prefix)


def test_a_madlad_style_prefix_is_configurable_and_fingerprinted(tiny):
    plain = create_system(seq2seq(tiny, "t5"))
    madlad = create_system(seq2seq(tiny, "t5", prefix="<2en> "))
    madlad._load()
    assert madlad.prefix == "<2en> "
    assert madlad.fingerprint != plain.fingerprint


def test_a_single_sentence_over_the_limit_is_split_into_pieces_not_cut(tiny):
    # No punctuation anywhere: the sentence is split at characters into pieces that fit, so
    # nothing is dropped and nothing is flagged (issue 11: "no text dropped by chunking").
    with create_system(seq2seq(tiny, "marian")) as translator:
        translator._load()
        text = "赫鲁晓夫" * translator.limit
        (result,) = translator.translate([Segment("x", text)])
    assert not result.truncated and result.chunks > 1


def test_the_input_limit_comes_from_the_model_unless_configured(tiny):
    auto = create_system(seq2seq(tiny, "marian"))
    auto._load()
    assert auto.limit == tiny_models.TINY_LIMIT
    fixed = create_system(seq2seq(tiny, "marian", max_input_tokens=20))
    fixed._load()
    assert fixed.limit == 20


def test_fingerprint_follows_decoding_settings_and_weights(tiny, tmp_path):
    a = create_system(seq2seq(tiny, "marian"))
    b = create_system(seq2seq(tiny, "marian", generation={"max_new_tokens": 6, "num_beams": 2}))
    assert a.fingerprint != b.fingerprint
    other = tiny_models.build_marian(tmp_path / "marian2")
    weights = next(other.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    c = create_system(SystemConfig(name="tiny-marian", backend="hf-seq2seq", model=str(other), generation=FAST))
    assert c.fingerprint != a.fingerprint


def test_causal_lm_translates_the_seed_reference_set_through_its_chat_template(tiny):
    refs = seed_references()
    system = causal(tiny)
    records = translate_system(RunConfig(reference="x", systems=[system]), system, refs)
    assert [r.id for r in records] == [r.id for r in refs]
    with create_system(system) as translator:
        translator._load()
        rendered = translator.render("信")
    assert rendered.startswith("<|im_start|>system\n") and rendered.endswith("<|im_start|>assistant\n")
    assert "Output only the English translation" in rendered


def test_causal_lm_long_paragraph_comes_back_in_chunks(tiny):
    with create_system(causal(tiny)) as translator:
        translator._load()
        text = long_paragraph(translator.count_tokens, translator.limit)
        (result,) = translator.translate([Segment("long", text)])
    assert result.chunks >= 3 and not result.truncated


def test_causal_lm_batches_with_left_padding_give_the_same_output_as_one_at_a_time(tiny):
    segments = [Segment(r.id, r.zh) for r in seed_references()[2:6]]
    batched = create_system(causal(tiny, batch_size=4)).translate(segments)
    single = create_system(causal(tiny, batch_size=1)).translate(segments)
    assert [t.hyp for t in batched] == [t.hyp for t in single]


def test_causal_prompt_is_overridable_and_fingerprinted(tiny):
    default = create_system(causal(tiny))
    custom = create_system(causal(tiny, prompt="中译英：{text}", system_prompt=""))
    custom._load()
    assert custom.render("信").startswith("<|im_start|>user\n中译英：信")
    assert custom.fingerprint != default.fingerprint


@pytest.mark.parametrize("backend", ["hf-seq2seq", "hf-causal"])
def test_a_model_path_that_does_not_exist_is_a_clear_error(backend, tmp_path):
    with pytest.raises(BackendError, match=r"model path .*missing-model does not exist"):
        create_system(SystemConfig(name="x", backend=backend, model=str(tmp_path / "missing-model")))


def test_a_folder_without_config_json_is_a_clear_error(tmp_path):
    with pytest.raises(BackendError, match="no config.json"):
        create_system(SystemConfig(name="x", backend="hf-seq2seq", model=str(tmp_path)))


@pytest.mark.parametrize("damage", ["corrupt weights", "missing tokenizer files"])
def test_an_unusable_model_folder_is_a_clear_error(tiny, tmp_path, damage):
    import shutil

    folder = tmp_path / "marian"
    shutil.copytree(tiny("marian"), folder)
    if damage == "corrupt weights":
        (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    else:
        for piece in ("source.spm", "target.spm", "vocab.json"):
            (folder / piece).unlink(missing_ok=True)
    system = SystemConfig(name="x", backend="hf-seq2seq", model=str(folder), generation=FAST)
    with pytest.raises(BackendError, match=f"system 'x': cannot load {folder}"):
        create_system(system).translate([Segment("a", "我收到了你的信。")])


def _import_transformers_untimed() -> None:
    # What these tests bound is the Hub's retry loop (~47 s without HF_HUB_OFFLINE), not
    # transformers' import, which alone takes 5-7 s in a fresh process on a busy 2-core machine.
    import transformers  # noqa: F401
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer  # noqa: F401


@pytest.mark.parametrize("backend", ["hf-seq2seq", "hf-causal"])
def test_a_hub_id_while_offline_fails_fast_and_says_how_to_use_a_folder(backend):
    _import_transformers_untimed()
    started = time.perf_counter()
    with pytest.raises(BackendError) as info:
        create_system(SystemConfig(name="x", backend=backend, model="Helsinki-NLP/opus-mt-zh-en"))
    assert time.perf_counter() - started < 5
    assert "Hub is unreachable" in str(info.value) and "model: /path/to/folder" in str(info.value)


def test_an_unreachable_hub_is_noticed_by_a_quick_probe(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens
    _import_transformers_untimed()
    started = time.perf_counter()
    with pytest.raises(BackendError, match="no connection to the Hub"):
        create_system(SystemConfig(name="x", backend="hf-seq2seq", model="facebook/nllb-200-distilled-600M"))
    assert time.perf_counter() - started < 5


def test_the_runner_caches_model_output(tiny):
    refs = [r for r in seed_references() if r.zh][:5]
    system = seq2seq(tiny, "marian")
    config = RunConfig(reference="x", systems=[system])
    first = translate_system(config, system, refs)
    second = translate_system(config, system, refs)
    assert all(r.cached for r in second) and [r.hyp for r in first] == [r.hyp for r in second]



def test_out_of_memory_halves_the_batch_and_retries():
    import torch

    from evalkit.systems.hf_common import run_batches

    sizes: list[int] = []

    def generate(batch):
        sizes.append(len(batch))
        if len(batch) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return [x * 10 for x in batch]

    assert run_batches(list(range(7)), 8, generate) == [x * 10 for x in range(7)]
    assert sizes[:3] == [7, 4, 2]


def test_out_of_memory_at_batch_size_one_is_a_clear_error():
    import torch

    from evalkit.systems.hf_common import run_batches

    def generate(batch):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(BackendError, match="out of memory even with a batch of 1"):
        run_batches([1, 2], 2, generate)


def test_other_errors_are_not_mistaken_for_out_of_memory():
    from evalkit.systems.hf_common import run_batches

    def generate(batch):
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        run_batches([1, 2], 2, generate)


@pytest.mark.parametrize(("requested", "device"), [(None, "cpu"), ("auto", "cpu"), ("cpu", "cpu")])
def test_device_is_chosen_automatically_or_as_configured(requested, device, monkeypatch):
    import torch

    from evalkit.systems.hf_common import pick_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device(requested) == device


def test_cuda_is_preferred_when_present(monkeypatch):
    import torch

    from evalkit.systems.hf_common import pick_device, pick_dtype

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert pick_device(None) == "cuda"
    assert pick_dtype("auto", "cuda") == torch.bfloat16
    assert pick_dtype("auto", "cpu") == torch.float32


def test_asking_for_cuda_without_it_is_a_clear_error(monkeypatch):
    import torch

    from evalkit.systems.hf_common import pick_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(BackendError, match="CUDA is not available"):
        pick_device("cuda")
