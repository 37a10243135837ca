"""TRAINING.md's walk-through, followed literally on a copy of the data, gives a complete
intent: every step's block goes where the step says (the `<!-- walkthrough: ... -->` line
before it), and `make validate`'s checks end with no error. Training on it is the e2e
test tests/e2e/test_training_walkthrough.py."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import List, Tuple

from bot.settings import PROJECT_ROOT
from tests.unit.test_trainer_mistakes import copy_project, validate

DIRECTIVE = re.compile(r"^<!-- walkthrough: (.*) -->$")
MOVED = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): example 「.*」 is under out_of_scope here and under invoice_request")


def steps() -> List[Tuple[List[str], List[str]]]:
    """(directive words, the fenced block after it) in TRAINING.md's order."""
    lines = (PROJECT_ROOT / "TRAINING.md").read_text(encoding="utf-8").splitlines()
    found = []
    for i, line in enumerate(lines):
        match = DIRECTIVE.match(line)
        if not match:
            continue
        block: List[str] = []
        if i + 1 < len(lines) and lines[i + 1].startswith("```"):
            end = next(j for j in range(i + 2, len(lines)) if lines[j].startswith("```"))
            block = lines[i + 2:end]
        found.append((shlex.split(match.group(1)), block))
    return found


def edit(path: Path, change) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(change(lines)) + "\n", encoding="utf-8")


def follow(root: Path, until: str = "") -> None:
    """Every step, or those before the first whose directive starts with ``until``."""
    for words, block in steps():
        if until and " ".join(words).startswith(until):
            return
        if words[0] == "append":
            edit(root / words[1], lambda lines, block=block: lines + block)
        elif words[0] in ("after-line", "before-line"):
            def insert(lines, words=words, block=block):
                at = next(i for i, line in enumerate(lines) if line.startswith(words[2]))
                at += 1 if words[0] == "after-line" else 0
                return lines[:at] + block + lines[at:]
            edit(root / words[1], insert)
        elif words[0] == "replace":
            def replace(lines, words=words):
                at = next(i for i, line in enumerate(lines) if words[2] in line)
                return lines[:at] + [lines[at].replace(words[2], words[3])] + lines[at + 1:]
            edit(root / words[1], replace)
        elif words[0] == "move":  # an out_of_scope line to the end of the file (the new block)
            def move(lines, words=words):
                at = lines.index("    " + words[2])
                return lines[:at] + lines[at + 1:] + ["    " + words[2]]
            edit(root / words[1], move)
        elif words[:2] == ["delete", "the"]:
            errors, _ = validate.check(root)
            doomed = sorted({(m["file"], int(m["line"])) for m in map(MOVED.match, errors) if m}, reverse=True)
            assert doomed, "validate names the out_of_scope examples to move"
            for file, line in doomed:
                edit(root / file, lambda lines, line=line: lines[:line - 1] + lines[line:])
        else:
            raise AssertionError(f"unknown walk-through step {words}")


def test_the_walkthrough_has_its_steps():
    kinds = [words[0] for words, _ in steps()]
    assert kinds.count("append") == 5 and "delete" in kinds


def test_following_the_walkthrough_literally_gives_a_complete_intent(tmp_path):
    root = copy_project(tmp_path / "copy")
    follow(root)
    errors, summary = validate.check(root)
    assert errors == [], errors
    assert "invoice_request 35" in summary
    held_out = (root / "tests" / "nlu" / "test_service.yml").read_text(encoding="utf-8")
    assert held_out.endswith("- intent: invoice_request\n  examples: |\n" + "".join(
        f"    - {t}\n" for t in ["可以给我开个电子发票吗", "開發票要多久", "发票怎么申请", "专票抬头写错了能换吗",
                             "發票抬頭能改嗎", "请问电子发票怎么开具", "发票没收到，麻烦补开一张", "能开个带税号的发票吗",
                             "發票什麼時候能開好", "我们公司要报销，帮忙开张票", "开个电子普票"]))
    oos_invoice = [line for line in (root / "data" / "nlu.yml").read_text(encoding="utf-8").splitlines()
                   if "票" in line and "保修" not in line]
    assert all("股票" in line or line.startswith("    - ") for line in oos_invoice)


def test_the_messages_quoted_in_the_walkthrough_are_validate_s(tmp_path):
    """The walk-through's sample messages are what validate says on the copy at that step."""
    text = (PROJECT_ROOT / "TRAINING.md").read_text(encoding="utf-8")
    root = copy_project(tmp_path / "copy")
    follow(root, until="delete")
    errors, _ = validate.check(root)
    for quoted in re.findall(r"^((?:data|tests)/\S+:\d+: example 「.*?」 is under out_of_scope here.*)$", text, re.M):
        assert quoted in errors, quoted
    root = copy_project(tmp_path / "again")
    follow(root, until="replace")
    errors, _ = validate.check(root)
    for quoted in re.findall(r"^(tests/test_stories.yml:\d+: story .* is labelled out_of_scope, but .*)$", text, re.M):
        assert quoted in errors, quoted
