"""Scores: accuracy, per-intent precision/recall/F1, macro-F1, out-of-scope detection."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from bot.playbook.clarify import candidates

OUT_OF_SCOPE = {"out_of_scope", "nlu_fallback"}
Ranking = List[Tuple[str, float]]  # intents best first, with their confidence (no nlu_fallback)
BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0001)
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(0, 13))
AMBIGUITIES = (0.0, 0.02, 0.05, 0.1)
# issue 15's goal for out-of-scope precision (0.8) plus the drop from cross-validated to
# real messages measured in round 2 (0.858 in CV, 0.818 on the dev set): the floor the
# recommended setting must reach on the cross-validated confidences
MIN_OOS_PRECISION = 0.84
ACCURACY_SLACK = 0.01  # how much top-1 accuracy the recommended setting may give up
RESOLVED_SLACK = 0.0  # resolved-within-one-question differences the rule treats as noise


@dataclass
class Scores:
    system: str
    dataset: str
    accuracy: float
    macro_f1: float
    oos_precision: float
    oos_recall: float
    per_intent: Dict[str, Dict[str, float]]
    labels: List[str]
    predictions: List[str]
    n: int
    examples: List[Any] = field(default_factory=list)  # evaluation.data.Example, in label order
    top3: Optional[float] = None  # the label among the three likeliest (systems with a ranking)
    resolved: Optional[float] = None  # right at once, or right among the buttons when asked
    asked: Optional[float] = None  # share of messages that got 「您是想问：」
    ece: Optional[float] = None  # expected calibration error of the top confidence
    reliability: List[Tuple[float, float, int, float, float]] = field(default_factory=list)
    # as given, to merge folds: labels and predictions before canonical(), rankings, who was asked
    labels_raw: List[str] = field(default_factory=list)
    predictions_raw: List[str] = field(default_factory=list)
    rankings: Optional[List[Ranking]] = None
    asked_each: Optional[List[bool]] = None


def canonical(intent: str) -> str:
    """nlu_fallback is the assistant's out-of-scope answer."""
    return "out_of_scope" if intent in OUT_OF_SCOPE else intent


def in_top(label: str, ranking: Ranking, k: int = 3) -> bool:
    return canonical(label) in {canonical(name) for name, _ in ranking[:k]}


def resolved_within_one_question(label: str, prediction: str, ranking: Ranking, asked: bool) -> bool:
    """Not asked: the answer is right. Asked: the label is among the buttons, or it is out
    of scope and 「都不是，转人工」 takes the customer to an agent, which is right for it."""
    if not asked:
        return canonical(prediction) == canonical(label)
    if canonical(label) == "out_of_scope":
        return True
    return label in candidates([{"name": n, "confidence": c} for n, c in ranking])


def reliability(labels: Sequence[str], rankings: Sequence[Ranking]) -> Tuple[float, List[Tuple[float, float, int, float, float]]]:
    """The top confidence against how often the top intent is right, in bins; and the ECE."""
    rows, ece, n = [], 0.0, max(len(labels), 1)
    for lo, hi in zip(BINS, BINS[1:]):
        inside = [(r[0][1], canonical(r[0][0]) == canonical(y)) for y, r in zip(labels, rankings)
                  if r and lo <= r[0][1] < hi]
        if inside:
            confidence = sum(c for c, _ in inside) / len(inside)
            accuracy = sum(ok for _, ok in inside) / len(inside)
            ece += len(inside) / n * abs(confidence - accuracy)
            rows.append((lo, min(hi, 1.0), len(inside), confidence, accuracy))
    return ece, rows


class SweepRow(NamedTuple):
    """One FallbackClassifier setting scored on cross-validated rankings."""

    threshold: float
    ambiguity: float
    accuracy: float  # the asked counted as out_of_scope
    asked: float
    resolved: float
    oos_precision: float
    oos_recall: float


def falls_back(ranking: Ranking, threshold: float, ambiguity: float) -> bool:
    """As Rasa's FallbackClassifier: the top confidence below ``threshold``, or the two
    best within ``ambiguity`` of each other."""
    if not ranking or ranking[0][1] < threshold:
        return True
    return len(ranking) > 1 and ranking[0][1] - ranking[1][1] < ambiguity


def sweep_row(labels: Sequence[str], rankings: Sequence[Ranking], threshold: float, ambiguity: float) -> SweepRow:
    predictions = [r[0][0] if not falls_back(r, threshold, ambiguity) else "nlu_fallback" for r in rankings]
    asked = [p == "nlu_fallback" for p in predictions]
    n = max(len(labels), 1)
    y = [canonical(x) for x in labels]
    p = [canonical(x) for x in predictions]
    hits = sum(a == b == "out_of_scope" for a, b in zip(y, p))
    return SweepRow(
        threshold, ambiguity,
        accuracy=sum(a == b for a, b in zip(y, p)) / n,
        asked=sum(asked) / n,
        resolved=sum(resolved_within_one_question(label, prediction, ranking, a)
                     for label, prediction, ranking, a in zip(labels, predictions, rankings, asked)) / n,
        oos_precision=hits / max(p.count("out_of_scope"), 1),
        oos_recall=hits / max(y.count("out_of_scope"), 1),
    )


def threshold_sweep(labels: Sequence[str], rankings: Sequence[Ranking],
                    ambiguities: Sequence[float] = AMBIGUITIES) -> List[SweepRow]:
    """Every (threshold, ambiguity) pair scored: how `make eval` calibrates FallbackClassifier."""
    return [sweep_row(labels, rankings, t, a) for a in ambiguities for t in THRESHOLDS]


def recommended(rows: Sequence[SweepRow], min_oos_precision: float = MIN_OOS_PRECISION,
                accuracy_slack: float = ACCURACY_SLACK, resolved_slack: float = RESOLVED_SLACK) -> Optional[SweepRow]:
    """Among the settings whose out-of-scope precision reaches ``min_oos_precision`` and
    whose accuracy is within ``accuracy_slack`` of the best, those that resolve within
    ``resolved_slack`` as many messages within one question as the best of them (by
    default: the most, as shown); of these the most precise on out-of-scope (fewest
    asked on a tie). With none precise enough, the most precise of the accurate ones."""
    if not rows:
        return None

    def shown(x: float) -> float:  # compared as the report shows them, so a reader gets the same
        return round(x, 3)

    best = max(shown(r.accuracy) for r in rows)
    accurate = [r for r in rows if shown(r.accuracy) >= shown(best - accuracy_slack)]
    precise = [r for r in accurate if shown(r.oos_precision) >= min_oos_precision]
    if not precise:
        return max(accurate, key=lambda r: (r.oos_precision, r.resolved))
    most = max(shown(r.resolved) for r in precise)
    return max((r for r in precise if shown(r.resolved) >= shown(most - resolved_slack)),
               key=lambda r: (r.oos_precision, -r.asked))


def score(system: str, dataset: str, labels: Sequence[str], predictions: Sequence[str],
          examples: Optional[Sequence[Any]] = None, rankings: Optional[Sequence[Ranking]] = None,
          asked: Optional[Sequence[bool]] = None) -> Scores:
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    y = [canonical(x) for x in labels]
    p = [canonical(x) for x in predictions]
    intents = sorted(set(y))
    prec, rec, f1, support = precision_recall_fscore_support(y, p, labels=intents, zero_division=0)
    per_intent = {
        intent: {"precision": float(a), "recall": float(b), "f1": float(c), "support": int(d)}
        for intent, a, b, c, d in zip(intents, prec, rec, f1, support)
    }
    oos_true = [t == "out_of_scope" for t in y]
    oos_pred = [q == "out_of_scope" for q in p]
    hits = sum(a and b for a, b in zip(oos_true, oos_pred))
    extra: Dict[str, Any] = {}
    if rankings is not None:
        asked = list(asked) if asked is not None else [False] * len(y)
        extra["top3"] = sum(in_top(a, r) for a, r in zip(labels, rankings)) / max(len(y), 1)
        extra["resolved"] = sum(resolved_within_one_question(a, b, r, q) for a, b, r, q
                                in zip(labels, predictions, rankings, asked)) / max(len(y), 1)
        extra["asked"] = sum(asked) / max(len(y), 1)
        extra["ece"], extra["reliability"] = reliability(labels, rankings)
        extra["rankings"], extra["asked_each"] = list(rankings), asked
    return Scores(
        system=system,
        dataset=dataset,
        accuracy=float(accuracy_score(y, p)),
        macro_f1=float(sum(v["f1"] for v in per_intent.values()) / max(len(per_intent), 1)),
        oos_precision=hits / max(sum(oos_pred), 1),
        oos_recall=hits / max(sum(oos_true), 1),
        per_intent=per_intent,
        labels=y,
        predictions=p,
        n=len(y),
        examples=list(examples or []),
        labels_raw=list(labels),
        predictions_raw=list(predictions),
        **extra,
    )


def confusion_png(scores: Scores, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    intents = sorted(set(scores.labels) | set(scores.predictions))
    matrix = confusion_matrix(scores.labels, scores.predictions, labels=intents)
    fig, ax = plt.subplots(figsize=(11, 9))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(intents)), intents, rotation=75, fontsize=8)
    ax.set_yticks(range(len(intents)), intents, fontsize=8)
    for i in range(len(intents)):
        for j in range(len(intents)):
            if matrix[i, j]:
                ax.text(j, i, matrix[i, j], ha="center", va="center", fontsize=7,
                        color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("labelled")
    ax.set_title(f"{scores.system} on {scores.dataset} (accuracy {scores.accuracy:.3f}, n={scores.n})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def reliability_png(results: Sequence[Scores], path: Path) -> bool:
    """The reliability diagram: per system and dataset, the mean top confidence of each bin
    against its accuracy (the diagonal is perfect calibration). False: nothing to plot."""
    curves = [s for s in results if s.reliability]
    if not curves:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 6))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfectly calibrated")
    for s in curves:
        ax.plot([row[3] for row in s.reliability], [row[4] for row in s.reliability], marker="o",
                linestyle="-" if s.system.startswith("Rasa") else "--",
                label=f"{s.system}, {s.dataset} (ECE {s.ece:.3f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean top confidence in the bin")
    ax.set_ylabel("accuracy of the top intent in the bin")
    ax.set_title("Reliability of the top confidence")
    ax.legend(fontsize=7, loc="lower right")  # the curves run above the diagonal
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
