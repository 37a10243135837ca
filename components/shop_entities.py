"""The shop's named things (couriers, products, colours, sizes, aspects, times) by spaCy.

A Rasa NLU entity extractor: a spaCy ``EntityRuler`` on ``spacy.blank("zh")``
with the jieba segmenter. Its patterns are the lookup tables and regexes of the
training data for the labels in its config (``data/entities.yml``):
they are fingerprinted with the data, stored in the model, and a trainer
extends them in YAML. No spaCy model is downloaded.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

PATTERNS_FILE = "patterns.json"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=True
)
class ShopEntityRuler(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"labels": ["courier", "product", "colour", "size", "aspect", "time_expr"]}

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        patterns: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.config = config
        self.model_storage = model_storage
        self.resource = resource
        self.patterns = patterns or {"phrases": [], "regexes": []}
        self._nlp: Any = None
        self._regexes: List[Any] = []

    @classmethod
    def create(
        cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
        execution_context: ExecutionContext,
    ) -> ShopEntityRuler:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
        execution_context: ExecutionContext, **kwargs: Any,
    ) -> ShopEntityRuler:
        try:
            with model_storage.read_from(resource) as directory:
                patterns = json.loads((directory / PATTERNS_FILE).read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError):
            patterns = None
        return cls(config, model_storage, resource, patterns)

    def train(self, training_data: TrainingData) -> Resource:
        labels = set(self.config["labels"])
        phrases = [
            {"label": table["name"], "pattern": str(value)}
            for table in training_data.lookup_tables if table["name"] in labels
            for value in table["elements"]
        ]
        regexes = [
            {"label": r["name"], "pattern": r["pattern"]}
            for r in training_data.regex_features if r["name"] in labels
        ]
        self.patterns = {"phrases": phrases, "regexes": regexes}
        with self.model_storage.write_to(self.resource) as directory:
            (directory / PATTERNS_FILE).write_text(
                json.dumps(self.patterns, ensure_ascii=False), encoding="utf-8"
            )
        return self.resource

    @property
    def nlp(self):
        """The spaCy pipeline, built on first use."""
        if self._nlp is None:
            import jieba
            import spacy

            jieba.setLogLevel(logging.WARNING)
            nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
            ruler: Any = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "ORTH"})
            for phrase in self.patterns["phrases"]:
                jieba.add_word(phrase["pattern"])  # segment it as one token
            ruler.add_patterns(self.patterns["phrases"])
            self._regexes = [(p["label"], re.compile(p["pattern"], re.IGNORECASE))
                             for p in self.patterns["regexes"]]
            self._nlp = nlp
        return self._nlp

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if text:
                message.set(ENTITIES, (message.get(ENTITIES) or []) + self.extract(text),
                            add_to_output=True)
        return messages

    def extract(self, text: str) -> List[Dict[str, Any]]:
        from spacy.util import filter_spans

        doc = self.nlp(text)
        spans = list(doc.ents)
        for label, pattern in self._regexes:
            for match in pattern.finditer(text):
                span = doc.char_span(match.start(), match.end(), label=label,
                                     alignment_mode="expand")
                if span is not None:
                    spans.append(span)
        return [
            {"entity": span.label_, "value": span.text, "start": span.start_char,
             "end": span.end_char, "extractor": self.__class__.__name__}
            for span in filter_spans(spans)
        ]

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data  # training examples keep their annotated entities
