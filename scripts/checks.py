"""A check run by scripts/test.sh on the output of `rasa test nlu`.

  python scripts/checks.py nlu-accuracy reports/nlu/intent_report.json 0.85
      Prints the held-out intent accuracy and per-intent F1; fails below the minimum.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def nlu_accuracy(report_path: str, minimum: str) -> int:
    report = json.loads(Path(report_path).read_text())
    rows = {
        k: v for k, v in report.items()
        if isinstance(v, dict) and k not in ("macro avg", "weighted avg", "micro avg")
    }
    for intent, row in sorted(rows.items()):
        confused = ", ".join(f"{k}×{n}" for k, n in row.get("confused_with", {}).items())
        print(f"    {intent:<24} F1 {row['f1-score']:.2f}  n={row['support']:<3} {confused}")
    accuracy = report["accuracy"]
    total = sum(row["support"] for row in rows.values())
    print(f"    NLU held-out accuracy: {accuracy:.3f} on {total} messages (minimum {float(minimum):.2f})")
    return 0 if accuracy >= float(minimum) else 1


if __name__ == "__main__":
    commands = {"nlu-accuracy": nlu_accuracy}
    if len(sys.argv) < 3 or sys.argv[1] not in commands:
        print(__doc__)
        sys.exit(2)
    sys.exit(commands[sys.argv[1]](*sys.argv[2:]))
