"""The markdown report of `make eval`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Dict, List

from evaluation.metrics import Scores

MODEL_SYSTEM = "Rasa (ours)"  # evaluation.__main__.RasaModel.name


def write_report(results: List[Scores], path: Path) -> str:
    datasets: Dict[str, List[Scores]] = {}
    for s in results:
        datasets.setdefault(s.dataset, []).append(s)
    lines = [
        "# NLU evaluation",
        "",
        "Our Rasa model against two baselines a shop would otherwise pick, on the same splits.",
        "`nlu_fallback` counts as `out_of_scope` (the assistant answers it honestly).",
        "Baselines see the raw text; the model normalises it first (its own component).",
        "",
    ]
    table = [
        "| dataset | system | n | accuracy | macro-F1 | OOS precision | OOS recall |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for dataset, scores in datasets.items():
        for s in scores:
            table.append(
                f"| {dataset} | {s.system} | {s.n} | {s.accuracy:.3f} | {s.macro_f1:.3f} "
                f"| {s.oos_precision:.3f} | {s.oos_recall:.3f} |"
            )
    lines += table
    for dataset, scores in datasets.items():
        ours = next((s for s in scores if s.system == MODEL_SYSTEM), None)
        if ours is None:
            continue
        lines += ["", f"## {dataset}: per intent ({ours.system})", "",
                  "| intent | precision | recall | F1 | n |", "|---|---:|---:|---:|---:|"]
        for intent, row in sorted(ours.per_intent.items()):
            lines.append(f"| {intent} | {row['precision']:.2f} | {row['recall']:.2f} | {row['f1']:.2f} | {row['support']} |")
        errors = Counter((y, p) for y, p in zip(ours.labels, ours.predictions) if y != p)
        if errors:
            lines += ["", "Most frequent confusions (labelled → predicted):", ""]
            lines += [f"- {y} → {p}: {n}" for (y, p), n in errors.most_common(8)]
        failing = [(ex, y, p) for ex, y, p in zip(ours.examples, ours.labels, ours.predictions) if y != p]
        if failing:
            lines += ["", f"Failing sentences ({len(failing)}), as written, labelled → predicted:", ""]
            failing.sort(key=lambda f: (f[1], f[2]))
            lines += [f"- 「{ex.text}」 {y} → {p}" + (f" ({ex.where})" if ex.where else "")
                      for ex, y, p in failing]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return "\n".join(table)
