"""A Rasa NLU component that normalises text before tokenisation (components.normalise).

It is also where bad input stops: the first component of the pipeline, it
reads at most ``max_chars`` characters of a message (a 100,000-character
message would otherwise take DIET's attention layer many seconds and gigabytes
and then fail), turns a missing or non-text message into an empty one, and
drops control characters and lone surrogates. ``max_chars`` is code (a
default of ``get_default_config``), not trained configuration: changing the
default needs no retraining; setting it in ``config.yml`` would retrain.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_END, ENTITY_ATTRIBUTE_START, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.normalise import normalise_with_offsets

MAX_CHARS = 1000


def bounded_text(text: Any, max_chars: int = MAX_CHARS) -> str:
    """A message's text as the pipeline may read it: a string of at most ``max_chars``.

    A missing text (a channel that sent no ``message``) is empty; a number or
    other JSON value is read as its text.
    """
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    return text[:max_chars]


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False
)
class ChineseNormaliser(GraphComponent):
    """Traditional → simplified, full-width → half-width, emoji and repeated punctuation.

    Must come first in the pipeline. Annotated entity spans of training
    examples are moved with the text.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        # Customer messages are short: the longest of the training data is far
        # below this; anything beyond it is read no further.
        return {"max_chars": MAX_CHARS}

    def __init__(self, config: Optional[Dict[str, Any]] = None) -> None:
        self.max_chars = int((config or {}).get("max_chars") or MAX_CHARS)

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ChineseNormaliser:
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for message in training_data.training_examples:
            self._normalise(message)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            message.set(TEXT, bounded_text(message.get(TEXT), self.max_chars))
            self._normalise(message)
        return messages

    @staticmethod
    def _normalise(message: Message) -> None:
        text: Optional[str] = message.get(TEXT)
        if not text:
            return
        new, positions = normalise_with_offsets(text)
        if new == text:
            return
        message.set(TEXT, new)
        positions.append(len(new))  # the end of the text maps to the new end
        for entity in message.get(ENTITIES) or []:
            entity[ENTITY_ATTRIBUTE_START] = positions[entity[ENTITY_ATTRIBUTE_START]]
            entity[ENTITY_ATTRIBUTE_END] = positions[entity[ENTITY_ATTRIBUTE_END]]
