"""Checks run by scripts/test.sh on the output of Rasa's tests.

  python scripts/checks.py stories reports/stories/failed_test_stories.yml tests/test_stories.yml
      The conversation tests that failed (`rasa test core --e2e`), each at its line in
      tests/test_stories.yml with the customer's sentence and what the model made of it;
      fails if any did.
  python scripts/checks.py nlu-accuracy reports/nlu/intent_report.json 0.85
      (`rasa test nlu`'s report) the intent accuracy and per-intent F1; fails below the minimum.
      make test's held-out figure is `python -m evaluation held-out`, the one of make eval.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Dict, List

ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)")
PREDICTED = re.compile(r"^(?P<indent>\s*)(?P<step>.*?)\s+# predicted: (?P<what>.*)$")


def story_failures(failed_path: str, stories_path: str) -> List[str]:
    """file:line messages for the failed stories Rasa wrote (its ``# predicted:`` comments)."""
    failed = Path(failed_path).read_text(encoding="utf-8") if Path(failed_path).exists() else ""
    source = Path(stories_path).read_text(encoding="utf-8").splitlines()
    starts: Dict[str, int] = {}
    for number, line in enumerate(source, 1):
        match = re.match(r"\s*- story:\s*(.+?)\s*$", line)
        if match:
            starts.setdefault(match.group(1).strip("'\""), number)

    def line_of(text: str, after: int) -> int:
        for number, line in enumerate(source, 1):
            if number > after and ANNOTATION.sub(r"\1", line.strip()) == text:
                return number
        return after

    messages: List[str] = []
    story, start, last_user = "?", 1, ""
    lines = failed.splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"\s*- story:\s*(.+?)\s*$", line)
        if match:
            # Rasa appends the source file to the name: "name (tests/test_stories.yml)"
            story = re.sub(r"\s*\([^()]*\.ya?ml\)$", "", match.group(1).strip("'\""))
            start = starts.get(story, 1)
            continue
        if re.match(r"\s*- user:", line) and i + 1 < len(lines):
            last_user = ANNOTATION.sub(r"\1", lines[i + 1].strip().strip('"'))
        found = PREDICTED.match(line)
        if not found:
            continue
        step, what = found.group("step").strip().lstrip("- "), found.group("what")
        where = f"{stories_path}:{line_of(last_user, start) if step.startswith('intent:') else start}"
        if step.startswith("intent:"):
            predicted = what.split(":", 1)[0]
            messages.append(f"{where}: story '{story}': 「{last_user}」 is labelled {step[7:].strip()}, "
                            f"the model says {predicted}")
        else:
            messages.append(f"{where}: story '{story}': {step} expected, the assistant chose {what}")
    return messages


def stories(failed_path: str, stories_path: str) -> int:
    messages = story_failures(failed_path, stories_path)
    for message in messages:
        print(message)
    if messages:
        print(f"conversation tests failed (Rasa's view: {failed_path}); a sentence the model now "
              "understands differently: relabel it, or teach the model (data/nlu.yml)")
        return 1
    print("    all conversation tests passed, the customers' words understood as labelled")
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
    commands = {"nlu-accuracy": nlu_accuracy, "stories": stories}
    if len(sys.argv) < 3 or sys.argv[1] not in commands:
        print(__doc__)
        sys.exit(2)
    sys.exit(commands[sys.argv[1]](*sys.argv[2:]))
