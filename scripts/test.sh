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

echo "==> [3/5] conversation tests (tests/test_stories.yml)"
if ! $BIN/rasa test core --model "$MODEL" --stories tests/test_stories.yml \
        --out reports/stories --fail-on-prediction-errors >reports/stories.log 2>&1; then
    cat reports/stories/failed_test_stories.yml 2>/dev/null || tail -n 40 reports/stories.log
    echo "conversation tests failed (reports/stories/)"
    exit 1
fi
grep -E "Correct:" reports/stories.log | sed -e 's/.*Correct:/    correct:/'

echo "==> [4/5] NLU on the held-out test set (tests/nlu/)"
$BIN/rasa test nlu --model "$MODEL" --nlu tests/nlu --out reports/nlu >reports/nlu.log 2>&1 \
    || { tail -n 30 reports/nlu.log; exit 1; }
$BIN/python scripts/checks.py nlu-accuracy reports/nlu/intent_report.json "$NLU_MIN_ACCURACY"

echo "==> [5/5] pytest: tests/unit, then tests/e2e and tests/faults against real servers"
$BIN/python -m pytest -p no:cacheprovider "$@"
echo "==> all tests passed in $(( $(date +%s) - started )) s"
