"""``evalkit translate``: config in, ``<out>/hyps/<system>.jsonl`` out, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from evalkit.cli import main
from evalkit.config import SystemConfig, load_config
from evalkit.errors import BackendError, ConfigError
from evalkit.jsonl import write_jsonl
from evalkit.records import read_hypotheses
from evalkit.systems.base import BACKENDS, create_system
from tiny_models import REPO, SEED_HYPS, seed_references


@pytest.fixture
def config_file(tmp_path) -> Path:
    reference = tmp_path / "reference.jsonl"
    write_jsonl(reference, seed_references())
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({
        "reference": str(reference),
        "out": str(tmp_path / "run"),
        "systems": [
            {"name": "gloss", "backend": "gloss"},
            {"name": "external", "backend": "file", "path": str(SEED_HYPS), "allow_missing": True},
        ],
    }), encoding="utf-8")
    return path


def test_translate_writes_a_hyps_file_per_system(config_file, tmp_path, capsys):
    assert main(["translate", "--config", str(config_file)]) == 0
    refs = seed_references()
    for name in ("gloss", "external"):
        records = read_hypotheses(tmp_path / "run" / "hyps" / f"{name}.jsonl")
        assert [r.id for r in records] == [r.id for r in refs]
        assert records[0].system.startswith(f"{name}@")
    assert "gloss: " in capsys.readouterr().out


def test_translate_system_and_out_options(config_file, tmp_path):
    out = tmp_path / "elsewhere"
    assert main(["translate", "-c", str(config_file), "--system", "external", "--out", str(out)]) == 0
    assert sorted(p.name for p in (out / "hyps").iterdir()) == ["external.jsonl"]


def test_translate_refresh_retranslates(config_file, tmp_path):
    assert main(["translate", "-c", str(config_file), "--system", "gloss"]) == 0
    assert main(["translate", "-c", str(config_file), "--system", "gloss"]) == 0
    assert all(r.cached for r in read_hypotheses(tmp_path / "run" / "hyps" / "gloss.jsonl") if r.hyp)
    assert main(["translate", "-c", str(config_file), "--system", "gloss", "--refresh"]) == 0
    assert not any(r.cached for r in read_hypotheses(tmp_path / "run" / "hyps" / "gloss.jsonl"))


def test_an_unknown_system_name_is_an_error_listing_the_configured_ones(config_file, capsys):
    assert main(["translate", "-c", str(config_file), "--system", "deepl"]) == 2
    err = capsys.readouterr().err
    assert "unknown system(s) 'deepl'" in err and "configured: gloss, external" in err


def test_an_unknown_backend_lists_the_known_ones():
    with pytest.raises(ConfigError) as info:
        create_system(SystemConfig(name="x", backend="marian"))
    for known in BACKENDS:
        assert known in str(info.value)


def test_an_unknown_backend_exits_2_with_one_line(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"reference": str(REPO / "tests/data/none.jsonl"), "out": str(tmp_path),
                                    "systems": [{"name": "x", "backend": "nope"}]}))
    (tmp_path / "ref.jsonl").write_text("")
    write_jsonl(tmp_path / "ref.jsonl", seed_references()[:2])
    assert main(["translate", "-c", str(path), "--reference", str(tmp_path / "ref.jsonl")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("evalkit: error:") and "unknown backend 'nope'" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("config", sorted(p.name for p in (REPO / "configs").glob("*.yaml")))
def test_every_shipped_config_parses_and_names_known_backends(config):
    parsed = load_config(REPO / "configs" / config)
    assert parsed.systems
    for system in parsed.systems:
        assert system.backend in BACKENDS


OFFLINE_CONFIGS = ["gloss.yaml", "file.yaml"]


@pytest.mark.parametrize("config", OFFLINE_CONFIGS)
def test_offline_configs_translate_the_seed(config, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    parsed = load_config(REPO / "configs" / config, out=str(tmp_path / "run"))
    from evalkit.records import read_references
    from evalkit.systems.runner import translate_to_files

    results = translate_to_files(parsed, read_references(parsed.reference), tmp_path / "run", keep=True)
    assert set(results) == {s.name for s in parsed.systems}
    assert all(any(r.hyp for r in stats.records) for stats in results.values())


@pytest.mark.parametrize("config", ["opus-mt.yaml", "opus-mt-ct2.yaml", "nllb.yaml", "m2m100.yaml", "mbart50.yaml",
                                    "madlad.yaml", "qwen.yaml", "openai.yaml"])
def test_model_configs_are_valid_down_to_the_download(config, monkeypatch):
    # Every option is accepted by its backend; what stops them here is only the missing network.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-used")
    for system in load_config(REPO / "configs" / config).systems:
        if system.backend in {"hf-seq2seq", "hf-causal", "ct2"}:
            with pytest.raises(BackendError, match="Hub is unreachable"):
                create_system(system)
        else:
            create_system(system).close()
