"""Checks run by scripts/test.sh on the output of Rasa's tests.

  python scripts/checks.py stories reports/stories/failed_test_stories.yml tests/test_stories.yml \
      reports/stories.log
      The conversation tests that failed (`rasa test core --e2e`), each at its line in
      tests/test_stories.yml with the customer's sentence and what the model made of it;
      fails if any did, or if none ran. A turn whose `intent:` line says `# any intent`
      (its text is taken by a form, whatever the model makes of it) is not held to its label.

make test's held-out accuracy is `python -m evaluation held-out`, the figure of make eval.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Dict, List

ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)")
# on a step's `intent:` line: the turn's text is taken by a form whatever its intent
ANY_INTENT = "# any intent"
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
    story, start = "?", 1
    for line in failed.splitlines():
        match = re.match(r"\s*- story:\s*(.+?)\s*$", line)
        if match:
            # Rasa appends the source file to the name: "name (tests/test_stories.yml)"
            story = re.sub(r"\s*\([^()]*\.ya?ml\)$", "", match.group(1).strip("'\""))
            start = starts.get(story, 1)
            continue
        found = PREDICTED.match(line)
        if not found:
            continue
        step, what = found.group("step").strip().lstrip("- ").strip(), found.group("what").strip()
        if step.startswith("intent:"):
            # "# predicted: invoice_request: 能开发票吗" (the sentence with the entities found)
            predicted, _, found_entities = what.partition(": ")
            sentence, label = ANNOTATION.sub(r"\1", found_entities), step[7:].strip()
            number = line_of(sentence, start)
            at = f"{stories_path}:{number}: story '{story}': 「{sentence}」"
            intent_line = source[number] if number < len(source) else ""
            if predicted != label and ANY_INTENT in intent_line:
                continue  # a form takes this turn's text whatever the model makes of it
            if predicted != label:
                messages.append(f"{at} is labelled {label}, the model says {predicted}")
            else:  # the intent is right; the entities are not those annotated
                messages.append(f"{at}: the model finds the entities 「{found_entities}」, not those "
                                "annotated in the story")
        elif step.startswith("action:"):
            messages.append(f"{stories_path}:{start}: story '{story}': {step} expected, the assistant "
                            f"chose {what.removeprefix('predicted: ')}")
        else:
            messages.append(f"{stories_path}:{start}: story '{story}': entity {step} expected, the "
                            f"model found {what}")
    return messages


def stories(failed_path: str, stories_path: str, log_path: str = "") -> int:
    """Fails on a failed story, and on a run that tested no story (Rasa reads only the
    files named test_*.yml as conversation tests)."""
    log = Path(log_path).read_text(encoding="utf-8", errors="replace") if log_path else ""
    counted = re.findall(r"Evaluating (\d+) stories", log)
    if log_path and (not counted or int(counted[0]) == 0):
        print(f"no conversation test ran (see {log_path}): is {stories_path} named test_*.yml?")
        return 1
    messages = story_failures(failed_path, stories_path)
    for message in messages:
        print(message)
    if messages:
        print(f"conversation tests failed (Rasa's view: {failed_path}); a sentence the model now "
              "understands differently: relabel it, or teach the model (data/nlu.yml)")
        return 1
    tested = f"{counted[0]} stories" if counted else "all conversation tests"
    print(f"    {tested} passed, the customers' words understood as labelled")
    return 0


if __name__ == "__main__":
    commands = {"stories": stories}
    if len(sys.argv) < 3 or sys.argv[1] not in commands:
        print(__doc__)
        sys.exit(2)
    sys.exit(commands[sys.argv[1]](*sys.argv[2:]))
