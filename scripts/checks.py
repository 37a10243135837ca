"""Checks run by scripts/test.sh on the output of Rasa's own tools.

  python scripts/checks.py unused-responses reports/validate.log
      Rasa warns about responses that no rule or story uses; ours are often
      used by custom actions instead. Fails for any warned response that no
      Python module in bot/ or actions/ names either.

  python scripts/checks.py nlu-accuracy reports/nlu/intent_report.json 0.85
      Prints the held-out intent accuracy and per-intent F1; fails below the minimum.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# Responses that Rasa's own default actions send (action_default_fallback).
USED_BY_RASA = {"utter_default"}


def form_questions() -> set:
    """``utter_ask_<slot>`` for every slot a form requests: Rasa's forms send them."""
    questions = set()
    for path in (ROOT / "domain").glob("*.yml"):
        forms = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("forms") or {}
        for form in forms.values():
            questions |= {f"utter_ask_{slot}" for slot in form.get("required_slots", [])}
    return questions


def unused_responses(log_path: str) -> int:
    warned = set(re.findall(r"The utterance '(\w+)' is not used", Path(log_path).read_text()))
    warned -= form_questions()
    source = "\n".join(
        p.read_text(encoding="utf-8") for d in ("bot", "actions") for p in (ROOT / d).rglob("*.py")
    )
    unused = sorted(n for n in warned - USED_BY_RASA if f'"{n}"' not in source)
    if unused:
        print("responses used by no rule, story or action:", ", ".join(unused))
        return 1
    print(f"    every response is used ({len(warned - USED_BY_RASA)} of them by custom actions)")
    return 0


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
    commands = {"unused-responses": unused_responses, "nlu-accuracy": nlu_accuracy}
    if len(sys.argv) < 3 or sys.argv[1] not in commands:
        print(__doc__)
        sys.exit(2)
    sys.exit(commands[sys.argv[1]](*sys.argv[2:]))
