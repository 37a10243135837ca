"""Two things a shop would otherwise use: a keyword router, and TF-IDF + logistic regression."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import yaml

from evaluation.data import Example

KEYWORDS = Path(__file__).with_name("keywords.yml")


class KeywordRouter:
    """The first intent (in file order) with a keyword in the message; else out_of_scope."""

    name = "keyword rules"

    def __init__(self, path: Path = KEYWORDS) -> None:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.rules: Dict[str, List[str]] = {k: [str(w) for w in v] for k, v in raw.items()}

    def fit(self, examples: Sequence[Example]) -> KeywordRouter:
        return self  # hand-written rules learn nothing

    def predict(self, texts: Sequence[str]) -> List[str]:
        return [self._route(t) for t in texts]

    def _route(self, text: str) -> str:
        for intent, words in self.rules.items():
            if any(w in text for w in words):
                return intent
        return "out_of_scope"


class TfidfLogisticRegression:
    """Character 1-3-grams, TF-IDF weighted, into a multinomial logistic regression."""

    name = "TF-IDF + LR"

    def fit(self, examples: Sequence[Example]) -> TfidfLogisticRegression:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        self.model = make_pipeline(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True),
            LogisticRegression(max_iter=3000, C=10.0),
        )
        self.model.fit([e.text for e in examples], [e.intent for e in examples])
        return self

    def predict(self, texts: Sequence[str]) -> List[str]:
        return list(self.model.predict(list(texts)))

    def rank(self, texts: Sequence[str]) -> List[List[Tuple[str, float]]]:
        """Every intent with its probability, best first."""
        intents = [str(c) for c in self.model.classes_]
        return [sorted(zip(intents, (float(p) for p in row)), key=lambda x: -x[1])
                for row in self.model.predict_proba(list(texts))]
