"""The markdown report of `make eval`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from evaluation.metrics import (
    ACCURACY_SLACK,
    MIN_OOS_PRECISION,
    RESOLVED_SLACK,
    Scores,
    SweepRow,
    recommended,
)

MODEL_SYSTEM = "Rasa (ours)"  # evaluation.__main__.RasaModel.name


def figure(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.3f}"


def calibration_lines(results: Sequence[Scores], sweep: Sequence[SweepRow],
                      threshold: float, ambiguity: float = 0.0, plot: str = "") -> List[str]:
    """Reliability tables (top confidence against accuracy), the plot, and the sweep of
    the FallbackClassifier settings over the model's cross-validated confidences."""
    lines = ["", "## Calibration", "",
             "Top confidence in bins against how often the top intent is right (a calibrated",
             "system has the two columns close; ECE is their weighted gap)."
             + (f" The reliability diagram: `{plot}`." if plot else ""), ""]
    for s in results:
        if not s.reliability:
            continue
        lines += [f"{s.system} on {s.dataset} (ECE {s.ece:.3f}):", "",
                  "| confidence | n | mean confidence | accuracy |", "|---|---:|---:|---:|"]
        lines += [f"| {lo:.1f}–{hi:.1f} | {n} | {c:.2f} | {a:.2f} |" for lo, hi, n, c, a in s.reliability]
        lines.append("")
    if sweep:
        best = recommended(sweep)
        lines += [f"FallbackClassifier settings on the model's cross-validated confidences (config.yml: "
                  f"threshold {threshold}, ambiguity_threshold {ambiguity}): the assistant asks 「您是想问：」 "
                  "below the threshold or when the two best are within the ambiguity; accuracy and "
                  "out-of-scope precision/recall count the asked as out_of_scope.", ""]
        if best is not None:
            lines += [f"Recommended: threshold {best.threshold:.2f}, ambiguity {best.ambiguity:.2f} — of the "
                      f"settings with out-of-scope precision >= {MIN_OOS_PRECISION} and accuracy within "
                      f"{ACCURACY_SLACK} of the best, those resolving the most within one question "
                      + (f"(within {RESOLVED_SLACK}), " if RESOLVED_SLACK else "(as shown), ")
                      + "then the most precise on out-of-scope.", ""]
        lines += ["| threshold | ambiguity | accuracy | asked | resolved within one question | OOS precision | OOS recall |",
                  "|---:|---:|---:|---:|---:|---:|---:|"]
        lines += [f"| {r.threshold:.2f} | {r.ambiguity:.2f} | {r.accuracy:.3f} | {r.asked:.3f} | {r.resolved:.3f} "
                  f"| {r.oos_precision:.3f} | {r.oos_recall:.3f} |" + (" ← recommended" if r == best else "")
                  for r in sweep]
    return lines


def write_report(results: List[Scores], path: Path, sweep: Sequence[SweepRow] = (),
                 threshold: float = 0.0, ambiguity: float = 0.0, plot: str = "") -> str:
    datasets: Dict[str, List[Scores]] = {}
    for s in results:
        datasets.setdefault(s.dataset, []).append(s)
    lines = [
        "# NLU evaluation",
        "",
        "Our Rasa model against two baselines a shop would otherwise pick, on the same splits.",
        "`nlu_fallback` counts as `out_of_scope` (the assistant answers it honestly).",
        "Baselines see the raw text; the model normalises it first (its own component).",
        "Resolved within one question: right at once, or, when the confidence is below the",
        "FallbackClassifier threshold and the assistant asks 「您是想问：」, the label among the",
        "buttons (out_of_scope: 「都不是，转人工」). TF-IDF + LR is given the same threshold;",
        "keyword rules never ask.",
        "",
    ]
    table = [
        "| dataset | system | n | accuracy | top-3 | resolved ≤1 question | asked | macro-F1 "
        "| OOS precision | OOS recall | ECE |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for dataset, scores in datasets.items():
        for s in scores:
            table.append(
                f"| {dataset} | {s.system} | {s.n} | {s.accuracy:.3f} | {figure(s.top3)} "
                f"| {figure(s.resolved if s.resolved is not None else s.accuracy)} | {figure(s.asked)} "
                f"| {s.macro_f1:.3f} | {s.oos_precision:.3f} | {s.oos_recall:.3f} | {figure(s.ece)} |"
            )
    lines += table
    lines += calibration_lines(results, sweep, threshold, ambiguity, plot)
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
