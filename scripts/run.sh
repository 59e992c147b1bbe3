#!/usr/bin/env bash
# Set up (if needed) and run the main job: the offline default config on the embedded reference set.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"
exec .venv/bin/evalkit run --config configs/default.yaml "$@"
