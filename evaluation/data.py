"""Labelled messages: the project's Rasa YAML, or an external TSV with JD-style masks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List

from bot.settings import PROJECT_ROOT
from rasa_adapter.project_files import nlu_examples_at, to_nlu_yaml

# JD's anonymisation masks and plausible values to put in their place.
MASKS = {
    "订单": "3027461958302746518",
    "数字": "2",
    "金额": "199元",
    "日期": "11月3日",
    "时间": "10点",
    "姓名": "张先生",
    "地址": "朝阳区建国路88号",
    "电话": "13812345678",
    "站点": "北京朝阳站",
    "组织机构": "京东",
}
MASK = re.compile(r"\[(\w+?)x\]")


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    where: str = ""  # file:line of a project example
    written: str = ""  # the example as written, entity annotations included


def from_rasa_yaml(paths: Iterable[Path], root: Path = PROJECT_ROOT) -> List[Example]:
    return [Example(text, intent, where, written)
            for intent, text, written, where in nlu_examples_at(list(paths), root)]


def unmask(text: str) -> str:
    return MASK.sub(lambda m: MASKS.get(m.group(1), "1"), text)


def from_tsv(path: Path) -> List[Example]:
    """``label<TAB>text[<TAB>...]`` lines; masks replaced with plausible values."""
    examples = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].strip() and parts[1].strip():
            examples.append(Example(unmask(parts[1].strip()), parts[0].strip()))
    return examples


def to_rasa_yaml(examples: Iterable[Example]) -> str:
    """As in data/nlu.yml: annotated (``[3027461958302746518](order_id)``) where they were."""
    return to_nlu_yaml((ex.intent, ex.written or ex.text) for ex in examples)
