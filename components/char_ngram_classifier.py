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
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
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


OUT_OF_SCOPE = "out_of_scope"


def class_weights(labels: Sequence[str], how: Optional[str]) -> Optional[Dict[str, float]]:
    """The logistic regression's class weights.

    ``balanced``: every intent weighs the same whatever its number of examples.
    ``balanced_in_scope``: the in-scope intents balanced among themselves, out_of_scope
    (the largest) keeping its natural weight, so that it is not shrunk below what its
    examples say. ``None``: every example weighs one.
    """
    if not how:
        return None
    counts = Counter(labels)
    if how == "balanced":
        return {c: len(labels) / (len(counts) * n) for c, n in counts.items()}
    if how == "balanced_in_scope":
        inside = {c: n for c, n in counts.items() if c != OUT_OF_SCOPE}
        total = sum(inside.values())
        weights = {c: total / (len(inside) * n) for c, n in inside.items()}
        if OUT_OF_SCOPE in counts:
            weights[OUT_OF_SCOPE] = 1.0
        return weights
    raise ValueError(f"class_weight: {how!r} is none of balanced, balanced_in_scope")


class NgramModel:
    """TF-IDF n-grams into a multinomial logistic regression, plain scikit-learn.

    Characters of the normalised text (``analyzer`` char_wb or char, ``min_ngram`` to
    ``max_ngram``), and with ``word_ngrams`` > 0 also word 1..``word_ngrams``-grams over
    the jieba tokens the pipeline made; sublinear term frequencies.
    """

    def __init__(self, analyzer: str = "char_wb", min_ngram: int = 1, max_ngram: int = 3,
                 word_ngrams: int = 0, C: float = 10.0, class_weight: Optional[str] = None) -> None:
        self.settings: Dict[str, Any] = dict(analyzer=analyzer, min_ngram=int(min_ngram), max_ngram=int(max_ngram),
                             word_ngrams=int(word_ngrams), C=float(C), class_weight=class_weight)
        self.chars: Any = None
        self.words: Any = None
        self.classifier: Any = None

    def _features(self, texts: Sequence[str], tokens: Sequence[Sequence[str]], fit: bool) -> Any:
        from scipy.sparse import hstack

        parts = [(self.chars, list(texts))]
        if self.words is not None:
            parts.append((self.words, [" ".join(t) for t in tokens]))
        matrices = [v.fit_transform(x) if fit else v.transform(x) for v, x in parts]
        return hstack(matrices).tocsr() if len(matrices) > 1 else matrices[0]

    def fit(self, texts: Sequence[str], tokens: Sequence[Sequence[str]], labels: Sequence[str]) -> NgramModel:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        s = self.settings
        self.chars = TfidfVectorizer(analyzer=s["analyzer"], sublinear_tf=True,
                                     ngram_range=(s["min_ngram"], s["max_ngram"]))
        self.words = (TfidfVectorizer(analyzer="word", token_pattern=r"\S+", lowercase=False, sublinear_tf=True,
                                      ngram_range=(1, s["word_ngrams"])) if s["word_ngrams"] > 0 else None)
        self.classifier = LogisticRegression(max_iter=3000, C=s["C"],
                                             class_weight=class_weights(labels, s["class_weight"]))
        self.classifier.fit(self._features(texts, tokens, fit=True), list(labels))
        return self

    @property
    def intents(self) -> List[str]:
        return [str(c) for c in self.classifier.classes_]

    def probabilities(self, texts: Sequence[str], tokens: Sequence[Sequence[str]]) -> List[Dict[str, float]]:
        rows = self.classifier.predict_proba(self._features(texts, tokens, fit=False))
        return [dict(zip(self.intents, (float(p) for p in row))) for row in rows]


def boosted(probabilities: Dict[str, float], factor: float, intent: str = OUT_OF_SCOPE) -> Dict[str, float]:
    """``intent``'s probability multiplied by ``factor``, all renormalised to sum to one: a
    shift of its prior, the same for every message (1: unchanged)."""
    if factor == 1 or intent not in probabilities:
        return probabilities
    scaled = {name: p * factor if name == intent else p for name, p in probabilities.items()}
    total = sum(scaled.values()) or 1.0
    return {name: p / total for name, p in scaled.items()}


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True
)
class CharNgramClassifier(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {
            "analyzer": "char_wb",  # or "char": n-grams across word boundaries too
            "min_ngram": 1,
            "max_ngram": 3,
            "word_ngrams": 0,  # > 0: word 1..n-grams over the jieba tokens as well
            "C": 10.0,  # inverse regularisation of the logistic regression
            # "balanced": each intent weighs the same whatever its number of examples, so
            # the largest (out_of_scope) does not take whatever the model is unsure of;
            # "balanced_in_scope": the same among the in-scope intents, out_of_scope as it is
            "class_weight": None,
            "previous_weight": 0.0,  # > 0: mix in the ranking of the classifier before
            # out_of_scope's final probability multiplied by this, then all renormalised
            "out_of_scope_boost": 1.0,
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

    def _model(self) -> NgramModel:
        return NgramModel(**{k: self.config[k] for k in
                             ("analyzer", "min_ngram", "max_ngram", "word_ngrams", "C", "class_weight")})

    @staticmethod
    def _tokens(message: Message) -> List[str]:
        return [t.text for t in message.get(TOKENS_NAMES[TEXT]) or [] if t.text.strip()]

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        if len({m.get(INTENT) for m in examples}) < 2:
            logger.warning("CharNgramClassifier: fewer than two intents, nothing to learn")
            return self._resource
        self.model = self._model().fit([m.get(TEXT) for m in examples], [self._tokens(m) for m in examples],
                                       [m.get(INTENT) for m in examples])
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
        if model is not None and not isinstance(model, NgramModel):  # a model of an older version
            logger.warning("CharNgramClassifier: %s was trained by an older version; retrain", resource.name)
            model = None
        return cls(config, model_storage, resource, model)

    def process(self, messages: List[Message]) -> List[Message]:
        if self.model is None:
            return messages
        texts = [m.get(TEXT) or "" for m in messages]
        weight = float(self.config["previous_weight"])
        for message, probabilities in zip(messages, self.model.probabilities(texts, [self._tokens(m) for m in messages])):
            if weight > 0 and message.get(INTENT_RANKING_KEY):
                probabilities = mix(probabilities, message.get(INTENT_RANKING_KEY), weight)
            probabilities = boosted(probabilities, float(self.config["out_of_scope_boost"]))
            ranked = ranking(list(probabilities), list(probabilities.values()), 0)
            message.set(INTENT, ranked[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranked[:int(self.config["ranking_length"]) or None],
                        add_to_output=True)
        return messages
