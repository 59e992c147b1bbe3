#!/usr/bin/env bash
# Create .venv and install evalkit with its test extras (torch pinned to the CPU wheel) and the
# neural extra (COMET, CometKiwi, LaBSE), so that the neural metric tests run instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test,scale,neural]"
# unbabel-comet 2.2.7 pins transformers<5, numpy<2, huggingface-hub<1 and protobuf<5, which no
# resolver can combine with evalkit's own pins: it goes in without its dependencies (the neural
# extra carries its other runtime requirements; evalkit.metrics.neural adapts it to transformers 5).
.venv/bin/python -m pip install --quiet --no-deps "unbabel-comet==2.2.7"
# torchmetrics 0.10 (comet's pin) imports pkg_resources, which setuptools 81 and later no longer
# ship: keep a setuptools that has it, so that a plain `import comet` works too (evalkit itself
# supplies a stand-in where it is missing: evalkit.metrics.neural.import_comet).
.venv/bin/python -m pip install --quiet "setuptools>=77,<81"
# Nothing above may have moved the pinned stack (torch 2.13.0, transformers 5, numpy 2).
.venv/bin/python -W ignore::UserWarning - <<'PY'
import numpy, torch, transformers
import comet, sentence_transformers  # the neural extra, importable as such
assert torch.__version__.split("+")[0] == "2.13.0", f"torch {torch.__version__}, expected 2.13.0"
assert int(transformers.__version__.split(".")[0]) >= 5, f"transformers {transformers.__version__}, expected 5.x"
assert int(numpy.__version__.split(".")[0]) >= 2, f"numpy {numpy.__version__}, expected 2.x"
PY
