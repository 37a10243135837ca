"""Scores: accuracy, per-intent precision/recall/F1, macro-F1, out-of-scope detection."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

OUT_OF_SCOPE = {"out_of_scope", "nlu_fallback"}


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


def canonical(intent: str) -> str:
    """nlu_fallback is the assistant's out-of-scope answer."""
    return "out_of_scope" if intent in OUT_OF_SCOPE else intent


def score(system: str, dataset: str, labels: Sequence[str], predictions: Sequence[str],
          examples: Optional[Sequence[Any]] = None) -> Scores:
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
