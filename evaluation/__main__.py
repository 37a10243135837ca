"""python -m evaluation [all|held-out|overlap|review] [--folds K] [--data labelled.tsv] [--model M]

  all (make eval): the Rasa model against two baselines (keyword rules; TF-IDF +
    logistic regression) on the same splits:
      - held-out: trained on data/nlu.yml, tested on tests/nlu/ (the trained model);
      - K-fold cross-validation over data/nlu.yml: each fold trains the pipeline of
        config.yml on data/entities.yml (regexes, lookup tables, synonyms) and the
        other folds' examples as written (annotations kept), like `make train`;
        K=0 skips it;
      - an external TSV (label<TAB>text), JD masks replaced with plausible values.
    Each: top-1, top-3, "resolved within one question" (asked below the
    FallbackClassifier threshold of config.yml, the label among the buttons), the share
    asked, out-of-scope precision/recall, a reliability table and ECE; on the folds, a
    sweep of the threshold over the model's cross-validated confidences.
    Writes reports/eval.md (with every failing sentence and where it is written) and
    a confusion-matrix PNG per dataset for the model.
  held-out [--min-accuracy X] (make test's NLU step): the one held-out accuracy
    figure, computed as `make eval` computes it; fails below the minimum.
  overlap [--intent NAME] (make overlap): the examples of other intents, out_of_scope
    first, that the trained model gives to NAME (or nearly: NAME at >= 0.3), so that
    a trainer who added or widened NAME can move them; without --intent, every
    example the model gives to another intent than its label.

  speed [--data labelled.tsv] : the model's load time and parse time (p50, p90) over
    200 messages (the held-out set's without --data).
  review ... : the trainers' review queue (python -m evaluation review --help).
  candidates ... : the classifier candidates by cross-validation, how config.yml's model
    was chosen (python -m evaluation candidates --help).

Progress and the results on screen; everything else (Rasa's and TensorFlow's logs,
the folds' training) in reports/eval.log.
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
from typing import Any, Dict, List, Optional, Sequence, TextIO, Tuple

from bot.settings import PROJECT_ROOT as ROOT
from evaluation.baselines import KeywordRouter, TfidfLogisticRegression
from evaluation.data import Example, from_rasa_yaml, from_tsv, to_rasa_yaml
from evaluation.metrics import (
    Ranking,
    Scores,
    SweepRow,
    canonical,
    confusion_png,
    reliability_png,
    score,
    threshold_sweep,
)
from evaluation.report import MODEL_SYSTEM, write_report
from rasa_adapter.project_files import ENTITIES, NLU, held_out_paths

HELD_OUT = "held-out test set"
NEAR = 0.3  # overlap: the intent's confidence that counts as "nearly given to it"


class RasaModel:
    name = MODEL_SYSTEM

    def __init__(self, model: Path) -> None:
        from rasa.core.agent import Agent
        from rasa.utils.log_utils import configure_structlog

        logging.getLogger("rasa").setLevel(logging.ERROR)
        configure_structlog(logging.ERROR)  # no per-message debug lines

        self.loop = asyncio.new_event_loop()
        self.agent = Agent.load(str(model))

    def parse(self, text: str) -> Dict[str, Any]:
        return self.loop.run_until_complete(self.agent.parse_message(text))

    def predict(self, texts: Sequence[str]) -> List[str]:
        return [(self.parse(t).get("intent") or {}).get("name") or "nlu_fallback" for t in texts]

    def answers(self, texts: Sequence[str]) -> Tuple[List[str], List[Ranking]]:
        """The intent given (nlu_fallback: the assistant asks) and the ranking behind it."""
        predictions, rankings = [], []
        for text in texts:
            parsed = self.parse(text)
            predictions.append((parsed.get("intent") or {}).get("name") or "nlu_fallback")
            rankings.append([(r["name"], float(r["confidence"])) for r in parsed.get("intent_ranking") or []
                             if r["name"] != "nlu_fallback"])
        return predictions, rankings


def merge_folds(fold_scores: Sequence[Scores], threshold: float) -> Scores:
    """The folds' held-apart predictions scored together, as one cross-validation result."""
    first = fold_scores[0]
    labels = [y for s in fold_scores for y in s.labels_raw]
    predictions = [p for s in fold_scores for p in s.predictions_raw]
    examples = [e for s in fold_scores for e in s.examples]
    if first.rankings is None:
        return score(first.system, first.dataset, labels, predictions, examples)
    return score(first.system, first.dataset, labels, predictions, examples,
                 [r for s in fold_scores for r in s.rankings or []],
                 [a for s in fold_scores for a in s.asked_each or []])


def fallback_settings(config: Path = ROOT / "config.yml") -> Tuple[float, float]:
    """The FallbackClassifier's threshold and ambiguity_threshold in config.yml: below the
    first, or with the two best within the second, the assistant asks."""
    import yaml

    pipeline = yaml.safe_load(config.read_text(encoding="utf-8")).get("pipeline") or []
    found = next((c for c in pipeline if c.get("name") == "FallbackClassifier"), None)
    if found is None:
        return 0.0, 0.0
    return float(found.get("threshold", 0.3)), float(found.get("ambiguity_threshold", 0.1))


def fallback_threshold(config: Path = ROOT / "config.yml") -> float:
    """The FallbackClassifier's threshold in config.yml: below it the assistant asks."""
    return fallback_settings(config)[0]


def evaluate(system: Any, dataset: str, texts: Sequence[Example], threshold: float) -> Scores:
    """One system on one dataset: top-1, and for systems with a ranking top-3, calibration
    and "resolved within one question" (asked below ``threshold``, as the assistant is)."""
    labels, words = [e.intent for e in texts], [e.text for e in texts]
    if isinstance(system, RasaModel):
        predictions, rankings = system.answers(words)
        return score(system.name, dataset, labels, predictions, texts, rankings,
                     [p == "nlu_fallback" for p in predictions])
    if hasattr(system, "rank"):
        rankings = system.rank(words)
        asked = [not r or r[0][1] < threshold for r in rankings]  # top-1 itself never falls back
        return score(system.name, dataset, labels, [r[0][0] for r in rankings], texts, rankings, asked)
    return score(system.name, dataset, labels, system.predict(words), texts)


def write_fold_data(examples: Sequence[Example], data: Path) -> Path:
    """A fold's training data as `make train` reads it: the examples as written, beside
    the real data/entities.yml (regexes, lookup tables, synonyms)."""
    data.mkdir(parents=True)
    (data / "nlu.yml").write_text(to_rasa_yaml(examples), encoding="utf-8")
    (data / "entities.yml").write_text((ROOT / ENTITIES).read_text(encoding="utf-8"), encoding="utf-8")
    return data


def fold_patterns(data: Path) -> str:
    """What Rasa reads from a fold's data besides the examples, as `make train` does."""
    from rasa.shared.importers.importer import TrainingDataImporter

    nlu = TrainingDataImporter.load_from_dict(
        config_path=str(ROOT / "config.yml"), training_data_paths=[str(data)]).get_nlu_data()
    return (f"{len(nlu.regex_features)} regexes, {len(nlu.lookup_tables)} lookup tables, "
            f"{len(nlu.entity_synonyms)} synonyms")


def train_fold_model(examples: Sequence[Example], workdir: Path, name: str, log: TextIO,
                     config: Path = ROOT / "config.yml") -> Path:
    data = write_fold_data(examples, workdir / name)
    print(f"{name}: {fold_patterns(data)}", file=log, flush=True)
    rasa = Path(sys.executable).with_name("rasa")
    log.flush()
    subprocess.run(
        [str(rasa), "train", "nlu", "--config", str(config), "--nlu", str(data),
         "--out", str(workdir), "--fixed-model-name", name],
        cwd=ROOT, check=True, stdout=log, stderr=subprocess.STDOUT,
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


def held_out(model: RasaModel, root: Path = ROOT) -> Scores:
    """The model on tests/nlu/: the one held-out figure of `make test` and `make eval`."""
    test = from_rasa_yaml(held_out_paths(root), root)
    return evaluate(model, HELD_OUT, test, fallback_threshold(root / "config.yml"))


def parse_times(model: RasaModel, texts: Sequence[str]) -> str:
    """Parse time per message through Rasa's Agent (the NLU pipeline only), after a warm-up."""
    for text in texts[:10]:
        model.parse(text)
    times = []
    for text in texts:
        before = time.perf_counter()
        model.parse(text)
        times.append((time.perf_counter() - before) * 1000)
    times.sort()
    return (f"parse p50 {times[len(times) // 2]:.1f} ms, p90 {times[int(len(times) * 0.9)]:.1f} ms "
            f"over {len(times)} messages, load average {os.getloadavg()[0]:.1f}")


def accuracy_line(scores: Scores) -> str:
    return (f"NLU held-out accuracy: {scores.accuracy:.3f} on {scores.n} messages of tests/nlu/ "
            "(nlu_fallback counts as out_of_scope)")


class Screen:
    """Our lines on the terminal (and in the log); everything else written to
    stdout or stderr, by Python or by TensorFlow's C++ code, only in the log."""

    def __init__(self, log_path: Path) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        sys.stdout.flush()
        sys.stderr.flush()
        self.log = open(log_path, "w", encoding="utf-8", buffering=1)
        self.out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
        os.dup2(self.log.fileno(), 1)
        os.dup2(self.log.fileno(), 2)
        logging.basicConfig(level=logging.WARNING, stream=self.log, force=True)

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)
        print(text, file=self.log, flush=True)


def overlap(model: RasaModel, intent: Optional[str], root: Path = ROOT) -> List[str]:
    """Examples of other intents (training and held out) the model gives to ``intent``
    (or nearly), out_of_scope first, as lines for the screen."""
    examples = from_rasa_yaml([root / NLU], root) + from_rasa_yaml(held_out_paths(root), root)
    found = []
    for ex in examples:
        if intent is not None and ex.intent == intent:
            continue
        parsed = model.parse(ex.text)
        top = canonical((parsed.get("intent") or {}).get("name") or "nlu_fallback")
        ranking = {r["name"]: r["confidence"] for r in parsed.get("intent_ranking") or []}
        if intent is None:
            if top != canonical(ex.intent):
                found.append((ex, top, ranking.get(top, 0.0)))
        elif top == intent or ranking.get(intent, 0.0) >= NEAR:
            found.append((ex, intent, ranking.get(intent, 0.0)))
    found.sort(key=lambda f: (f[0].intent != "out_of_scope", f[0].intent, -f[2]))
    return [f"{ex.where}: 「{ex.text}」 {ex.intent} → {given} {confidence:.2f}"
            for ex, given, confidence in found]


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["review"]:  # the trainers' review queue: its own commands
        from evaluation.review import main as review

        return review(argv[1:])
    if argv[:1] == ["candidates"]:  # how the model was chosen: candidates by cross-validation
        from evaluation.candidates import main as candidates

        return candidates(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m evaluation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="all", choices=["all", "held-out", "overlap", "speed"])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "aftersales.tar.gz")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--data", type=Path, action="append", default=[])
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    parser.add_argument("--min-accuracy", type=float, default=None)
    parser.add_argument("--intent", default=None)
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="held-out, overlap: the data files' directory (a copy)")
    args = parser.parse_args(argv)
    log_path = args.out / {"all": "eval.log", "held-out": "nlu.log", "overlap": "overlap.log",
                           "speed": "speed.log"}[args.command]
    screen = Screen(log_path)
    try:
        return run(args, screen, log_path)
    except Exception as exc:  # the traceback is in the log; the screen says where
        import traceback

        traceback.print_exc(file=screen.log)
        screen.say(f"error: {type(exc).__name__}: {exc} (the traceback: {log_path})")
        return 1


def run(args: argparse.Namespace, screen: Screen, log_path: Path) -> int:
    say = screen.say

    started = time.perf_counter()
    say(f"==> loading {args.model.relative_to(ROOT) if args.model.is_relative_to(ROOT) else args.model}"
        f" (details: {log_path.relative_to(ROOT) if log_path.is_relative_to(ROOT) else log_path})")
    model = RasaModel(args.model)
    loaded = time.perf_counter() - started

    if args.command == "speed":
        texts = [e.text for path in args.data for e in from_tsv(path)] or \
            [e.text for e in from_rasa_yaml(held_out_paths(ROOT))]
        say(f"    loaded in {loaded:.1f} s; {parse_times(model, texts[:200])}")
        return 0

    if args.command == "held-out":
        scores = held_out(model, args.root)
        for intent, row in sorted(scores.per_intent.items()):
            if row["f1"] < 1:
                say(f"    {intent:<24} F1 {row['f1']:.2f}  n={row['support']}")
        say(f"    {accuracy_line(scores)}" + (f", minimum {args.min_accuracy:.2f}" if args.min_accuracy else ""))
        if args.min_accuracy is not None and scores.accuracy < args.min_accuracy:
            say("    the failing sentences: make eval FOLDS=0, then reports/eval.md")
            return 1
        return 0

    if args.command == "overlap":
        lines = overlap(model, args.intent, args.root)
        target = f"to {args.intent}" if args.intent else "to another intent than their label"
        say(f"==> {len(lines)} example{'' if len(lines) == 1 else 's'} the model gives {target}" +
            (f" (or nearly, >= {NEAR})" if args.intent else "") + (":" if lines else ""))
        for line in lines:
            say(f"    {line}")
        if lines and args.intent:
            say(f"    move those that are {args.intent} to it (training and held out), rephrase or drop the others")
        return 0

    train = from_rasa_yaml([ROOT / NLU])
    say(f"==> {len(train)} training examples, {len({e.intent for e in train})} intents")

    threshold, ambiguity = fallback_settings()
    results: List[Scores] = []
    sweep: List[SweepRow] = []

    def run_all(dataset: str, fit_on: Sequence[Example], texts: Sequence[Example]) -> None:
        for system in (KeywordRouter().fit(fit_on), TfidfLogisticRegression().fit(fit_on)):
            results.append(evaluate(system, dataset, texts, threshold))
            say(f"    {dataset:<28} {system.name:<14} accuracy {results[-1].accuracy:.3f}")

    results.append(held_out(model))
    say(f"    {HELD_OUT:<28} {model.name:<14} accuracy {results[-1].accuracy:.3f}")
    run_all(HELD_OUT, train, from_rasa_yaml(held_out_paths(ROOT)))
    for path in args.data:
        external = from_tsv(path)
        results.append(evaluate(model, f"external: {path.name}", external, threshold))
        say(f"    {'external: ' + path.name:<28} {model.name:<14} accuracy {results[-1].accuracy:.3f}")
        run_all(f"external: {path.name}", train, external)

    if args.folds > 1:
        say(f"==> {args.folds}-fold cross-validation (each fold trains config.yml's pipeline with data/entities.yml)")
        parts = folds(train, args.folds)
        per_fold: Dict[str, List[Scores]] = {}
        dataset = f"{args.folds}-fold cross-validation"
        with tempfile.TemporaryDirectory() as tmp:
            for i, part in enumerate(parts):
                rest = [e for j, other in enumerate(parts) if j != i for e in other]
                fold_started = time.perf_counter()
                fold_model = RasaModel(train_fold_model(rest, Path(tmp), f"fold{i}", screen.log))
                say(f"    fold {i + 1}/{args.folds}: trained in {time.perf_counter() - fold_started:.0f} s "
                    f"({fold_patterns(Path(tmp) / f'fold{i}')})")
                for system in (fold_model, KeywordRouter().fit(rest), TfidfLogisticRegression().fit(rest)):
                    per_fold.setdefault(system.name, []).append(evaluate(system, dataset, part, threshold))
        for system_name, fold_scores in per_fold.items():
            results.append(merge_folds(fold_scores, threshold))
            say(f"    {'cross-validation':<28} {system_name:<14} accuracy {results[-1].accuracy:.3f}")
            if system_name == RasaModel.name:
                sweep = threshold_sweep(results[-1].labels_raw, results[-1].rankings or [])

    for scores in results:
        if scores.system == RasaModel.name:
            slug = "".join(c if c.isalnum() else "_" for c in scores.dataset).strip("_")
            confusion_png(scores, args.out / f"confusion_{slug}.png")
    plot = args.out / "reliability.png"
    written = reliability_png(results, plot)
    say(write_report(results, args.out / "eval.md", sweep, threshold, ambiguity,
                     plot.name if written else ""))
    say(f"==> {accuracy_line(results[0])}")
    say(f"==> {time.perf_counter() - started:.0f} s; wrote {args.out / 'eval.md'} (failing sentences, "
        f"per intent), the confusion matrices and the reliability diagram in {args.out}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
