"""python -m evaluation candidates [--folds K] [--data labelled.tsv] [--only NAME ...]

How the model of config.yml was chosen (docs/nlu.md): intent classifier candidates
scored by K-fold cross-validation over data/nlu.yml, on the folds of `make eval`.

DIET is trained through Rasa once per fold (config.yml's pipeline up to DIET, its
whole ranking); its rankings of the held-apart examples are kept in
reports/candidates/ so that later runs do not train it again (delete the folder after
a change of the data). The n-gram classifiers are fitted with scikit-learn on the
normalised text and jieba's words, as ``components.char_ngram_classifier`` does, and
the ensembles mix the two rankings as the component mixes them. Every candidate gets
its own FallbackClassifier setting, recommended on its cross-validated confidences as
`make eval` recommends one (``evaluation.metrics.recommended``).

With --data, the candidates named by --only (all without it) are also trained on all of
data/nlu.yml and scored on the external file: a test, looked at after the choice.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import yaml

from bot.settings import PROJECT_ROOT as ROOT
from components.char_ngram_classifier import NgramModel, boosted, mix
from components.normalise import normalise_with_offsets
from evaluation.data import Example, from_rasa_yaml, from_tsv
from evaluation.metrics import Ranking, SweepRow, in_top, recommended, sweep_row, threshold_sweep
from rasa_adapter.project_files import NLU

CACHE = ROOT / "reports" / "candidates"

# name → the n-gram classifier's settings (NgramModel) and DIET's weight in the mix;
# None: DIET alone
CANDIDATES: Dict[str, Optional[Dict[str, Any]]] = {
    "DIET alone": None,
    "n-gram: char_wb 1-3, C 30, balanced (current n-gram)": dict(C=30, class_weight="balanced"),
    "n-gram: char_wb 1-3, C 30, balanced in scope": dict(C=30, class_weight="balanced_in_scope"),
    "n-gram: char 1-4, C 30, balanced": dict(analyzer="char", max_ngram=4, C=30, class_weight="balanced"),
    "n-gram: char_wb 1-3 + words 1-2, C 10, balanced": dict(word_ngrams=2, C=10, class_weight="balanced"),
    "n-gram: char_wb 1-3 + words 1-2, C 30, balanced": dict(word_ngrams=2, C=30, class_weight="balanced"),
    "n-gram: char 1-4 + words 1-2, C 10, balanced": dict(analyzer="char", max_ngram=4, word_ngrams=2, C=10,
                                                         class_weight="balanced"),
    "n-gram: char 1-4 + words 1-2, C 30, balanced": dict(analyzer="char", max_ngram=4, word_ngrams=2, C=30,
                                                         class_weight="balanced"),
    "n-gram: char 1-4 + words 1-2, C 30, balanced in scope": dict(analyzer="char", max_ngram=4, word_ngrams=2,
                                                                  C=30, class_weight="balanced_in_scope"),
    "mix 0.4: char_wb 1-3, C 30, balanced (round 2)": dict(C=30, class_weight="balanced", diet=0.4),
    "mix 0.4: char_wb 1-3, C 30, balanced in scope": dict(C=30, class_weight="balanced_in_scope", diet=0.4),
    "mix 0.4: char_wb 1-3 + words 1-2, C 30, balanced": dict(word_ngrams=2, C=30, class_weight="balanced", diet=0.4),
    "mix 0.4: char 1-4 + words 1-2, C 30, balanced": dict(analyzer="char", max_ngram=4, word_ngrams=2, C=30,
                                                          class_weight="balanced", diet=0.4),
    "n-gram: char_wb 1-3, C 30, balanced, out_of_scope x1.5": dict(C=30, class_weight="balanced", oos_boost=1.5),
    "mix 0.4: char_wb 1-3, C 30, balanced, out_of_scope x2": dict(C=30, class_weight="balanced", diet=0.4,
                                                                  oos_boost=2),
    "mix 0.4: char_wb 1-3, C 30, balanced, out_of_scope x2.5 (config.yml)": dict(
        C=30, class_weight="balanced", diet=0.4, oos_boost=2.5),
    "mix 0.4: char_wb 1-3, C 30, balanced, out_of_scope x3": dict(C=30, class_weight="balanced", diet=0.4,
                                                                  oos_boost=3),
}


def diet_config() -> str:
    """config.yml's pipeline up to DIET (no n-gram classifier, no fallback)."""
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    pipeline = config["pipeline"]
    cut = next(i for i, c in enumerate(pipeline) if c["name"] == "DIETClassifier") + 1
    config["pipeline"] = pipeline[:cut]
    config.pop("policies", None)
    return yaml.safe_dump(config, allow_unicode=True)


def diet_rankings(name: str, train: Sequence[Example], texts: Sequence[str], log: Any) -> List[Ranking]:
    """DIET trained through Rasa on ``train``, its ranking of each text (cached by content)."""
    from evaluation.__main__ import RasaModel, train_fold_model

    key = hashlib.sha1(json.dumps([diet_config(), [(e.intent, e.written or e.text) for e in train],
                                   list(texts)], ensure_ascii=False).encode()).hexdigest()[:16]
    cached = CACHE / f"diet_{name}_{key}.json"
    if cached.exists():
        return [[(n, c) for n, c in r] for r in json.loads(cached.read_text(encoding="utf-8"))]
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yml"
        config.write_text(diet_config(), encoding="utf-8")
        model = RasaModel(train_fold_model(train, Path(tmp), name, log, config))
        rankings = model.answers(texts)[1]
    CACHE.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(rankings, ensure_ascii=False), encoding="utf-8")
    return rankings


_JIEBA_READY = False


def words(text: str) -> List[str]:
    """jieba's words with the shop's dictionary, as the pipeline's JiebaTokenizer gives them."""
    global _JIEBA_READY
    import jieba

    if not _JIEBA_READY:
        import logging

        jieba.setLogLevel(logging.WARNING)
        for path in sorted((ROOT / "data" / "dict").glob("*")):
            jieba.load_userdict(str(path))
        _JIEBA_READY = True
    return [w for w in jieba.lcut(text) if w.strip()]


def normalised(text: str) -> str:
    return normalise_with_offsets(text)[0]


def ngram_rankings(settings: Dict[str, Any], train: Sequence[Example], texts: Sequence[str]) -> List[Ranking]:
    model = NgramModel(**{k: v for k, v in settings.items() if k not in ("diet", "oos_boost")})
    train_texts = [normalised(e.text) for e in train]
    model.fit(train_texts, [words(t) for t in train_texts], [e.intent for e in train])
    test = [normalised(t) for t in texts]
    return [sorted(p.items(), key=lambda x: -x[1]) for p in model.probabilities(test, [words(t) for t in test])]


def mixed(own: Sequence[Ranking], diet: Sequence[Ranking], weight: float) -> List[Ranking]:
    out = []
    for mine, theirs in zip(own, diet):
        p = mix(dict(mine), [{"name": n, "confidence": c} for n, c in theirs], weight)
        out.append(sorted(p.items(), key=lambda x: -x[1]))
    return out


def figures(labels: Sequence[str], rankings: Sequence[Ranking],
            setting: Optional[Tuple[float, float]] = None) -> Tuple[SweepRow, SweepRow, float]:
    """Before any fallback (threshold 0), at the recommended (or the given) setting, top-3."""
    raw = sweep_row(labels, rankings, 0.0, 0.0)
    best = sweep_row(labels, rankings, *setting) if setting else recommended(threshold_sweep(labels, rankings))
    assert best is not None
    top3 = sum(in_top(y, r) for y, r in zip(labels, rankings)) / max(len(labels), 1)
    return raw, best, top3


def row(name: str, raw: SweepRow, best: SweepRow, top3: float) -> str:
    return (f"| {name} | {raw.accuracy:.3f} | {top3:.3f} | {raw.oos_precision:.3f} | {raw.oos_recall:.3f} "
            f"| {best.threshold:.2f}/{best.ambiguity:.2f} | {best.accuracy:.3f} | {best.resolved:.3f} "
            f"| {best.oos_precision:.3f} | {best.oos_recall:.3f} |")


HEADER = ["| candidate | top-1 | top-3 | OOS P | OOS R | fallback | top-1 | resolved | OOS P | OOS R |",
          "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|"]


def rankings_of(settings: Optional[Dict[str, Any]], train: Sequence[Example], texts: Sequence[str],
                diet: List[Ranking]) -> List[Ranking]:
    if settings is None:
        return diet
    own = ngram_rankings(settings, train, texts)
    weight = float(settings.get("diet", 0.0))
    rankings = mixed(own, diet, weight) if weight else own
    factor = float(settings.get("oos_boost", 1.0))
    return [sorted(boosted(dict(r), factor).items(), key=lambda x: -x[1]) for r in rankings]


def main(argv: Optional[List[str]] = None) -> int:
    from evaluation.__main__ import folds

    parser = argparse.ArgumentParser(prog="python -m evaluation candidates", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--only", action="append", default=[], help="a candidate's name (repeatable)")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "candidates.md")
    args = parser.parse_args(argv)
    chosen = {n: s for n, s in CANDIDATES.items() if not args.only or n in args.only}
    CACHE.mkdir(parents=True, exist_ok=True)
    log = open(CACHE / "train.log", "a", encoding="utf-8")
    train = from_rasa_yaml([ROOT / NLU])
    parts = folds(train, args.folds)
    lines = [f"# Candidates: {args.folds}-fold cross-validation over {len(train)} examples", "",
             "Before any fallback: top-1, top-3, OOS P/R; then at the candidate's recommended "
             "FallbackClassifier threshold/ambiguity: top-1, resolved within one question, OOS P/R.", ""]
    labels = [e.intent for part in parts for e in part]
    diet_by_fold = []
    for i, part in enumerate(parts):
        rest = [e for j, other in enumerate(parts) if j != i for e in other]
        print(f"fold {i + 1}/{args.folds}: DIET", file=sys.stderr, flush=True)
        diet_by_fold.append(diet_rankings(f"fold{i}", rest, [e.text for e in part], log))
    lines += HEADER
    settings_found: Dict[str, Tuple[float, float]] = {}
    for name, settings in chosen.items():
        rankings: List[Ranking] = []
        for i, part in enumerate(parts):
            rest = [e for j, other in enumerate(parts) if j != i for e in other]
            rankings += rankings_of(settings, rest, [e.text for e in part], diet_by_fold[i])
        raw, best, top3 = figures(labels, rankings)
        settings_found[name] = (best.threshold, best.ambiguity)
        lines.append(row(name, raw, best, top3))
        print(lines[-1], file=sys.stderr, flush=True)
    if args.data:
        external = from_tsv(args.data)
        diet = diet_rankings("all", train, [e.text for e in external], log)
        lines += ["", f"## {args.data.name} ({len(external)}), trained on all of {NLU}, "
                  "each at its cross-validated setting", ""] + HEADER
        for name, settings in chosen.items():
            rankings = rankings_of(settings, train, [e.text for e in external], diet)
            raw, best, top3 = figures([e.intent for e in external], rankings, settings_found[name])
            lines.append(row(name, raw, best, top3))
            print(lines[-1], file=sys.stderr, flush=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0
