"""A Rasa NLU component that normalises text before tokenisation (bot.normalise)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_END, ENTITY_ATTRIBUTE_START, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.normalise import normalise_with_offsets


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
        return {}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ChineseNormaliser:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for message in training_data.training_examples:
            self._normalise(message)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
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
