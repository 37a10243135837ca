"""python -m evaluation [--folds K] [--data labelled.tsv] [--model models/aftersales.tar.gz]

Scores the Rasa model and two baselines (keyword rules; TF-IDF + logistic
regression) on the same splits:
  - held-out: trained on data/nlu.yml, tested on tests/nlu/ (the trained model);
  - K-fold cross-validation over data/nlu.yml (each fold retrains the Rasa NLU
    pipeline of config.yml, with data/entities.yml's regexes and lookup tables;
    K=0 skips it);
  - an external TSV (label<TAB>text), JD masks replaced with plausible values.
Writes reports/eval.md and a confusion-matrix PNG per dataset for the model.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence

from bot.settings import PROJECT_ROOT as ROOT
from evaluation.baselines import KeywordRouter, TfidfLogisticRegression
from evaluation.data import Example, from_rasa_yaml, from_tsv, to_rasa_yaml
from evaluation.metrics import Scores, confusion_png, score
from evaluation.report import MODEL_SYSTEM, write_report
from rasa_adapter.project_files import ENTITIES, NLU, held_out_paths


class RasaModel:
    name = MODEL_SYSTEM

    def __init__(self, model: Path) -> None:
        from rasa.core.agent import Agent
        from rasa.utils.log_utils import configure_structlog

        logging.getLogger("rasa").setLevel(logging.ERROR)
        configure_structlog(logging.ERROR)  # no per-message debug lines

        self.loop = asyncio.new_event_loop()
        self.agent = Agent.load(str(model))

    def predict(self, texts: Sequence[str]) -> List[str]:
        out = []
        for text in texts:
            parsed = self.loop.run_until_complete(self.agent.parse_message(text))
            out.append((parsed.get("intent") or {}).get("name") or "nlu_fallback")
        return out


def train_fold_model(examples: Sequence[Example], workdir: Path, name: str) -> Path:
    data = workdir / name  # the fold's examples beside the real entity patterns and lookups
    data.mkdir()
    (data / "nlu.yml").write_text(to_rasa_yaml(examples), encoding="utf-8")
    (data / "entities.yml").write_text((ROOT / ENTITIES).read_text(encoding="utf-8"), encoding="utf-8")
    rasa = Path(sys.executable).with_name("rasa")
    subprocess.run(
        [str(rasa), "train", "nlu", "--config", "config.yml", "--nlu", str(data),
         "--out", str(workdir), "--fixed-model-name", name],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return workdir / f"{name}.tar.gz"


def folds(examples: Sequence[Example], k: int, seed: int = 7) -> List[List[Example]]:
    """Stratified: each intent's examples dealt round-robin over k folds."""
    by_intent: Dict[str, List[Example]] = {}
    for ex in examples:
        by_intent.setdefault(ex.intent, []).append(ex)
    parts: List[List[Example]] = [[] for _ in range(k)]
    rng = random.Random(seed)
    for intent in sorted(by_intent):
        items = by_intent[intent][:]
        rng.shuffle(items)
        for i, ex in enumerate(items):
            parts[i % k].append(ex)
    return parts


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation", description=__doc__)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "aftersales.tar.gz")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--data", type=Path, action="append", default=[])
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    train = from_rasa_yaml([ROOT / NLU])
    test = from_rasa_yaml(held_out_paths(ROOT))
    print(f"==> {len(train)} training and {len(test)} held-out examples, {len({e.intent for e in train})} intents")

    results: List[Scores] = []

    def run_all(dataset: str, fit_on: Sequence[Example], texts: Sequence[Example], model) -> None:
        labels = [e.intent for e in texts]
        for system in (model, KeywordRouter().fit(fit_on), TfidfLogisticRegression().fit(fit_on)):
            started = time.perf_counter()
            predictions = system.predict([e.text for e in texts])
            results.append(score(system.name, dataset, labels, predictions))
            print(f"    {dataset:<28} {system.name:<14} accuracy {results[-1].accuracy:.3f}"
                  f"  ({time.perf_counter() - started:.1f} s)", flush=True)

    print(f"==> loading {args.model}")
    model = RasaModel(args.model)
    run_all("held-out test set", train, test, model)

    for path in args.data:
        run_all(f"external: {path.name}", train, from_tsv(path), model)

    if args.folds > 1:
        print(f"==> {args.folds}-fold cross-validation (each fold retrains the Rasa pipeline)")
        parts = folds(train, args.folds)
        labels: List[str] = []
        predictions: Dict[str, List[str]] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for i, held in enumerate(parts):
                rest = [e for j, part in enumerate(parts) if j != i for e in part]
                started = time.perf_counter()
                fold_model = RasaModel(train_fold_model(rest, Path(tmp), f"fold{i}"))
                print(f"    fold {i + 1}/{args.folds}: trained in {time.perf_counter() - started:.0f} s", flush=True)
                labels += [e.intent for e in held]
                texts = [e.text for e in held]
                for system in (fold_model, KeywordRouter().fit(rest), TfidfLogisticRegression().fit(rest)):
                    predictions.setdefault(system.name, []).extend(system.predict(texts))
        for system_name, predicted in predictions.items():
            results.append(score(system_name, f"{args.folds}-fold cross-validation", labels, predicted))
            print(f"    {'cross-validation':<28} {system_name:<14} accuracy {results[-1].accuracy:.3f}")

    for scores in results:
        if scores.system == RasaModel.name:
            slug = "".join(c if c.isalnum() else "_" for c in scores.dataset).strip("_")
            confusion_png(scores, args.out / f"confusion_{slug}.png")
    report = write_report(results, args.out / "eval.md")
    print(report)
    print(f"==> wrote {args.out / 'eval.md'} and the confusion matrices in {args.out}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
