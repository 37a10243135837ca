# The after-sales assistant. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
BIN     := $(VENV)/bin
PY      := $(BIN)/python
RASA    := $(BIN)/rasa
MODEL   := models/aftersales.tar.gz
PACKAGES := bot actions channels components rasa_adapter web evaluation devtools
# Anything that changes the model: retrain only when one of these is newer.
TRAINING_INPUTS := config.yml domain.yml $(shell find data -type f 2>/dev/null)

export PYTHONPATH := $(CURDIR)
# Safe defaults for every command below: no telemetry or crash report leaves the
# machine (Rasa's documented switch), servers on loopback (AFTERSALES_HOST to expose).
export RASA_TELEMETRY_ENABLED := false
export AFTERSALES_HOST ?= 127.0.0.1
# library noise (TensorFlow, deprecation warnings) stays out of the progress lines
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PYTHONWARNINGS := ignore::DeprecationWarning,ignore::PendingDeprecationWarning,ignore::FutureWarning

.PHONY: help setup train db run test eval review overlap export-feedback validate lint clean fuzz bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt constraints.txt scripts/find_python.sh
	@echo "==> setting up $(VENV) (a fresh install of Rasa takes a few minutes; log: $(VENV)/pip.log)"
	@PYTHON=$$(scripts/find_python.sh) && echo "    using $$PYTHON" && \
	  rm -rf $(VENV) && $$PYTHON -m venv $(VENV)
	@set -o pipefail; \
	  $(PY) -m pip install --progress-bar off -r requirements.txt -c constraints.txt 2>&1 \
	  | tee $(VENV)/pip.log \
	  | awk '/^Collecting/ {n++; if (n % 25 == 0) {printf "    %d packages resolved\n", n; fflush()}} \
	         /^Installing collected/ {print "    installing..."; fflush()} \
	         /^Successfully installed/ {print "    installed"; fflush()}' \
	  || { echo "error: pip failed; the end of $(VENV)/pip.log:" >&2; tail -n 30 $(VENV)/pip.log >&2; exit 1; }
	@# the first import compiles everything: its library warnings go to the log
	@$(PY) -W ignore -c 'import rasa, rasa_sdk, jieba, spacy, sqlalchemy, yaml' >>$(VENV)/pip.log 2>&1 \
	  || { echo "error: the installed packages do not import; see $(VENV)/pip.log" >&2; exit 1; }
	@# also off for a plain `rasa ...` typed in this checkout (written to ~/.config/rasa/global.yml)
	@$(RASA) telemetry disable >>$(VENV)/pip.log 2>&1
	@# plain `rasa test` looks for test stories under "." (.venv included): hide the starter
	@# project's copy inside the installed Rasa, or its mood_* stories are tested against our bot
	@$(PY) -c 'import pathlib, rasa.cli; p = pathlib.Path(rasa.cli.__file__).parent / "initial_project/tests/test_stories.yml"; p.unlink(missing_ok=True)' >>$(VENV)/pip.log 2>&1
	@touch $@
	@echo "==> $(VENV) ready"

node_modules/.installed: package.json package-lock.json
	@echo "==> installing the chat widget (rasa-webchat) from the npm registry"
	@npm ci --no-audit --no-fund --ignore-scripts --loglevel=error && touch $@

# Debian's Chromium and a CJK font for the browser tests (Playwright's own download does not work here)
/usr/bin/chromium:
	@echo "==> installing Debian's chromium for the browser tests"
	@if [ "$$(id -u)" != 0 ]; then echo "error: run as root or: apt-get install chromium" >&2; exit 1; fi
	@apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null

setup: $(VENV)/.installed node_modules/.installed ## create .venv and node_modules with the pinned dependencies

$(MODEL): $(VENV)/.installed $(TRAINING_INPUTS)
	@echo "==> training the model (config, domain or data changed)"
	@scripts/train.sh

train: $(MODEL) ## train the model if config, domain or data changed

db: $(VENV)/.installed ## create the sample shop database (var/shop.db) if missing
	@$(PY) -m bot init-db

run: $(MODEL) db node_modules/.installed ## start the assistant: action server :5055, Rasa REST/socket.io :5005, web :8080
	@scripts/run.sh

.PHONY: run-scaled test-scale
run-scaled: $(MODEL) node_modules/.installed ## two Rasa servers behind nginx, PostgreSQL, Redis (installs them): nginx :5080, web :8090
	@$(PY) -W ignore scripts/scaled.py

test-scale: $(MODEL) node_modules/.installed ## the scaled stack under concurrent load: turns and cases across instances (own ports)
	@$(PY) -m pytest -p no:cacheprovider -q -s -o addopts="" tests/scale

test: $(MODEL) node_modules/.installed /usr/bin/chromium ## run every test: unit, data validation, conversation stories, NLU accuracy
	@scripts/test.sh

validate: $(VENV)/.installed ## check the training data, domain and tests (rasa data validate + ours), file:line
	@mkdir -p reports; status=0; $(RASA) data validate >reports/validate.log 2>&1 || status=$$?; \
	  $(PY) scripts/validate.py --rasa-log reports/validate.log --rasa-exit $$status

eval: $(MODEL) ## score the model and two baselines (FOLDS=3, DATA=labelled.tsv): reports/eval.md, details reports/eval.log
	@$(PY) -m evaluation --folds $(or $(FOLDS),3) $(if $(DATA),--data $(DATA))

review: $(MODEL) ## a log of messages (DATA=file.tsv, first column) through the model: those it is unsure of join the review queue (python -m evaluation review list/assign/apply)
	@$(PY) -m evaluation review fill --data $(DATA) $(if $(LIMIT),--limit $(LIMIT))

overlap: $(MODEL) ## after adding or widening an intent (INTENT=name): other intents' examples the model gives to it
	@$(PY) -m evaluation overlap $(if $(INTENT),--intent $(INTENT))

export-feedback: $(VENV)/.installed ## agents' accepted messages as NLU YAML for review (OUT=reports/feedback_nlu.yml, DB=url)
	@$(PY) -m bot $(if $(DB),--db $(DB)) export-feedback --out $(or $(OUT),reports/feedback_nlu.yml)

fuzz: $(VENV)/.installed ## fuzz `make run`'s servers (RASA_URL, WEB_URL): N requests (500) in at most SECS (120); SEED to repeat
	@$(PY) scripts/fuzz.py --count $(or $(N),500) --seconds $(or $(SECS),120) $(if $(SEED),--seed $(SEED))

RATES ?= 10,25,50,100,150
bench: $(MODEL) ## open loop: Poisson arrivals at RATES=10,25,50,100,150 turns/s (SECONDS_PER_RATE=20; PROFILE=1 py-spy), then plain Rasa (ANCHOR=0 skips it); CLOSED=1 the closed loop (CUSTOMERS TURNS CONCURRENCY THINK_MS BENCH_TRAIN PROFILE); BURST=500 [SOCKETIO=100] [URL=]
	@$(PY) -W ignore scripts/bench.py \
	  $(if $(BURST),--burst $(BURST) $(if $(SOCKETIO),--socketio $(SOCKETIO)) $(if $(URL),--url $(URL)),\
	  $(if $(filter 1,$(CLOSED)),--customers $(or $(CUSTOMERS),240) --turns $(or $(TURNS),10) \
	    --concurrency $(or $(CONCURRENCY),20) --think-ms $(or $(THINK_MS),0) $(if $(filter 0,$(BENCH_TRAIN)),--no-train) \
	    $(if $(filter 1,$(PROFILE)),--profile reports/profile),\
	  --rates $(RATES) $(if $(filter 1,$(PROFILE)),--profile reports/profile)))

lint: $(VENV)/.installed ## ruff and mypy
	@$(BIN)/ruff check --quiet $(PACKAGES) tests scripts
	@$(BIN)/mypy $(PACKAGES) | tail -n 1

clean: ## remove the venv, models, database and reports
	rm -rf $(VENV) node_modules models var reports results .pytest_cache .mypy_cache .ruff_cache
