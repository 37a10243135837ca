#!/usr/bin/env bash
# Trains models/aftersales.tar.gz and shows progress; the full log is reports/train.log.
# Rasa itself skips the work when config, domain and data have the fingerprint
# of the existing model.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p models reports
MODEL=models/aftersales.tar.gz
started=$(date +%s)

.venv/bin/rasa train --out models --fixed-model-name aftersales 2>&1 \
    | tee reports/train.log \
    | .venv/bin/python -u scripts/train_progress.py
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ] || [ ! -f "$MODEL" ]; then
    echo "error: training failed (exit $status); the end of reports/train.log:" >&2
    tail -n 30 reports/train.log >&2
    exit 1
fi
touch "$MODEL"
echo "==> trained in $(( $(date +%s) - started )) s: $MODEL"
