"""An intent classifier on character n-grams: TF-IDF into a logistic regression.

A Rasa NLU component (scikit-learn inside). Customers' messages are short, full of
typos, run-on and unsegmented: character n-grams of the normalised text (the
``ChineseNormaliser`` runs first) carry them better than words, and a linear model
trains in seconds and parses in well under a millisecond.

With ``previous_weight`` > 0 it is an ensemble: the intent ranking a classifier
earlier in the pipeline (DIET) set on the message is mixed in with that weight,
``p = (1 - w) * p_ngram + w * p_previous``. `make eval` compares the choices
(docs/nlu.md has the figures that chose the one in config.yml).
"""

from __future__ import annotations

import logging
import pickle
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

MODEL_FILE = "char_ngram_lr.pkl"


def ranking(intents: List[str], probabilities: List[float], length: int) -> List[Dict[str, Any]]:
    """Rasa's ``intent_ranking``: the ``length`` most likely intents, best first."""
    ranked = sorted(zip(intents, probabilities), key=lambda p: -p[1])
    return [{INTENT_NAME_KEY: name, "confidence": float(p)} for name, p in ranked[:length or None]]


def mix(own: Dict[str, float], previous: List[Dict[str, Any]], weight: float) -> Dict[str, float]:
    """``(1 - weight) * own + weight * previous``; intents the previous ranking left out count 0."""
    theirs = {r[INTENT_NAME_KEY]: float(r.get("confidence") or 0.0) for r in previous or []}
    return {name: (1 - weight) * p + weight * theirs.get(name, 0.0) for name, p in own.items()}


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True
)
class CharNgramClassifier(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            "min_ngram": 1,
            "max_ngram": 3,
            "C": 10.0,  # inverse regularisation of the logistic regression
            # "balanced": each intent weighs the same whatever its number of examples, so
            # the largest (out_of_scope) does not take whatever the model is unsure of
            "class_weight": None,
            "previous_weight": 0.0,  # > 0: mix in the ranking of the classifier before
            "ranking_length": 10,
        }

    def __init__(self, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 model: Any = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.model = model

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> CharNgramClassifier:
        return cls(config, model_storage, resource)

    def _pipeline(self) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        return make_pipeline(
            TfidfVectorizer(analyzer="char_wb", sublinear_tf=True,
                            ngram_range=(int(self.config["min_ngram"]), int(self.config["max_ngram"]))),
            LogisticRegression(max_iter=3000, C=float(self.config["C"]),
                               class_weight=self.config["class_weight"] or None),
        )

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        if len({m.get(INTENT) for m in examples}) < 2:
            logger.warning("CharNgramClassifier: fewer than two intents, nothing to learn")
            return self._resource
        self.model = self._pipeline().fit([m.get(TEXT) for m in examples], [m.get(INTENT) for m in examples])
        with self._model_storage.write_to(self._resource) as directory:
            (directory / MODEL_FILE).write_bytes(pickle.dumps(self.model))
        return self._resource

    @classmethod
    def load(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> CharNgramClassifier:
        model = None
        try:
            with model_storage.read_from(resource) as directory:
                model = pickle.loads((directory / MODEL_FILE).read_bytes())  # our own model file
        except (ValueError, FileNotFoundError):
            logger.warning("CharNgramClassifier: no trained model in %s", resource.name)
        return cls(config, model_storage, resource, model)

    def process(self, messages: List[Message]) -> List[Message]:
        if self.model is None:
            return messages
        texts = [m.get(TEXT) or "" for m in messages]
        intents = [str(c) for c in self.model.classes_]
        weight = float(self.config["previous_weight"])
        for message, row in zip(messages, self.model.predict_proba(texts)):
            probabilities = dict(zip(intents, (float(p) for p in row)))
            if weight > 0 and message.get(INTENT_RANKING_KEY):
                probabilities = mix(probabilities, message.get(INTENT_RANKING_KEY), weight)
            ranked = ranking(list(probabilities), list(probabilities.values()), 0)
            message.set(INTENT, ranked[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranked[:int(self.config["ranking_length"]) or None],
                        add_to_output=True)
        return messages
