#!/usr/bin/env bash
# Every test of the project, in order of speed. Called by `make test` (which
# first sets up .venv and trains the model if needed).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
MODEL=models/aftersales.tar.gz
NLU_MIN_ACCURACY=${NLU_MIN_ACCURACY:-0.93}
mkdir -p reports
started=$(date +%s)

echo "==> [1/5] lint: ruff and mypy"
make -s --no-print-directory lint

echo "==> [2/5] make validate: rasa data validate and scripts/validate.py"
make -s --no-print-directory validate

echo "==> [3/5] conversation tests (tests/test_stories.yml), the customers' words through the model"
# --e2e: each `user:` text is understood by the model, so a stale label fails its story
$BIN/rasa test core --model "$MODEL" --stories tests/test_stories.yml --e2e \
    --out reports/stories >reports/stories.log 2>&1 \
    || { tail -n 40 reports/stories.log; echo "conversation tests did not run (reports/stories.log)"; exit 1; }
$BIN/python scripts/checks.py stories reports/stories/failed_test_stories.yml tests/test_stories.yml \
    reports/stories.log

echo "==> [4/5] NLU on the held-out test set (tests/nlu/), as make eval computes it"
$BIN/python -m evaluation held-out --model "$MODEL" --min-accuracy "$NLU_MIN_ACCURACY"

echo "==> [5/5] pytest: tests/unit, then tests/e2e and tests/faults against real servers"
$BIN/python -m pytest -p no:cacheprovider "$@"
echo "==> all tests passed in $(( $(date +%s) - started )) s"
