"""TrainConfig: the lesson's defaults, bounds read from the fields' own metadata, the round
trip through a model file's metadata (JSON), and the presets."""
from __future__ import annotations

import dataclasses
import json

import pytest

from model.config import BEST, LESSON, PRESETS, ConfigError, TrainConfig, fields

FIELDS = {f.name: f for f in fields()}


def type_name(f) -> str:
    return f.type if isinstance(f.type, str) else f.type.__name__


NUMERIC = [f for f in fields() if f.metadata["low"] is not None]
WITH_CHOICES = [f for f in fields() if f.metadata["choices"]]


def test_defaults_are_the_lesson():
    config = TrainConfig()
    assert (config.epochs, config.batch_size, config.learning_rate, config.optimizer) == (5, 100, 0.01, "sgd")
    assert PRESETS["the lesson"] == config == LESSON


def test_every_field_has_help_and_a_label():
    for f in fields():
        assert f.metadata["help"] and f.metadata["label"], f.name


def test_defaults_lie_within_their_bounds():
    for f in NUMERIC:
        assert f.metadata["low"] <= f.default <= f.metadata["high"], f.name
    for f in WITH_CHOICES:
        assert f.default in f.metadata["choices"], f.name


def _below(f):
    low = f.metadata["low"]
    return low - 1 if type_name(f) == "int" else (low / 10 if low > 0 else low - 0.5)


def _above(f):
    high = f.metadata["high"]
    return high + 1 if type_name(f) == "int" else high * 1.5


@pytest.mark.parametrize("f", NUMERIC, ids=lambda f: f.name)
@pytest.mark.parametrize("side", ["low", "high"])
def test_out_of_bounds_names_the_field_and_the_bound(f, side):
    value = _below(f) if side == "low" else _above(f)
    with pytest.raises(ConfigError) as e:
        TrainConfig(**{f.name: value})
    message = str(e.value)
    assert f.name in message
    assert f"{f.metadata[side]:g}" in message


@pytest.mark.parametrize("f", NUMERIC, ids=lambda f: f.name)
@pytest.mark.parametrize("side", ["low", "high"])
def test_the_bounds_themselves_are_allowed(f, side):
    assert getattr(TrainConfig(**{f.name: f.metadata[side]}), f.name) == f.metadata[side]


@pytest.mark.parametrize("f", WITH_CHOICES, ids=lambda f: f.name)
def test_an_unknown_choice_names_the_choices(f):
    with pytest.raises(ConfigError) as e:
        TrainConfig(**{f.name: "no-such-" + f.name})
    assert f.name in str(e.value)
    assert all(choice in str(e.value) for choice in f.metadata["choices"])


@pytest.mark.parametrize("f", WITH_CHOICES, ids=lambda f: f.name)
def test_every_choice_is_allowed(f):
    for choice in f.metadata["choices"]:
        assert getattr(TrainConfig(**{f.name: choice}), f.name) == choice


WRONG_TYPES = {
    "int": ["5", 2.5, True, None],
    "float": ["0.1", float("nan"), True, None],
    "bool": [1, "yes", None],
    "str": [1, None],
}


@pytest.mark.parametrize("name, value", [(f.name, v) for f in fields() for v in WRONG_TYPES[type_name(f)]],
                         ids=repr)
def test_a_wrong_type_raises_config_error_naming_the_field(name, value):
    with pytest.raises(ConfigError, match=name):
        TrainConfig(**{name: value})


def test_a_whole_number_is_accepted_for_a_float_and_stored_as_float():
    config = TrainConfig(learning_rate=1)
    assert config.learning_rate == 1.0 and isinstance(config.learning_rate, float)


def _at(side):
    """Every numeric field at its `side` bound, every choice field at its last choice."""
    values = {f.name: f.metadata[side] for f in NUMERIC}
    values.update({f.name: f.metadata["choices"][-1] for f in WITH_CHOICES})
    values.update({f.name: not f.default for f in fields() if type_name(f) == "bool"})
    return TrainConfig(**values)


@pytest.mark.parametrize("config", [LESSON, BEST, _at("low"), _at("high")], ids=["lesson", "best", "low", "high"])
def test_to_dict_from_dict_round_trip_through_json(config):
    """A model file stores the config as JSON; the same config must come back."""
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_from_dict_ignores_unknown_keys_and_fills_missing_ones_with_defaults():
    assert TrainConfig.from_dict({"epochs": 7, "from_a_newer_version": 1}) == TrainConfig(epochs=7)


def test_from_dict_validates():
    with pytest.raises(ConfigError, match="epochs"):
        TrainConfig.from_dict({"epochs": 0})


def test_frozen():
    config = TrainConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 7
    assert config.epochs == LESSON.epochs


def test_replace_returns_a_new_validated_config():
    assert LESSON.replace(epochs=7) == TrainConfig(epochs=7)
    assert LESSON.epochs == FIELDS["epochs"].default
    with pytest.raises(ConfigError):
        LESSON.replace(epochs=0)


NEXT_LESSON = {name: config for name, config in PRESETS.items() if name.startswith("next lesson")}
PREPROCESSING = ("normalization", "aspect", "deskew", "stroke_width", "styles", "augment")


def test_the_next_lesson_presets_are_a_hidden_layer_and_a_cnn():
    assert [c.architecture for c in NEXT_LESSON.values()] == ["mlp", "cnn"]
    assert [c.architecture for c in (LESSON, BEST)] == ["softmax", "softmax"]


@pytest.mark.parametrize("name", NEXT_LESSON)
def test_a_next_lesson_preset_trains_as_keras_examples_do_on_the_best_preprocessing(name):
    """Adam at 0.001, batch 128, the shipped model's preprocessing; each model's size at its
    default (the CNN's epochs fit a student's budget: tests/test_queue_controls.py)."""
    config = NEXT_LESSON[name]
    assert (config.optimizer, config.learning_rate, config.batch_size) == ("adam", 0.001, 128)
    assert all(getattr(config, f) == getattr(BEST, f) for f in PREPROCESSING)
    assert (config.hidden_units, config.filters) == (FIELDS["hidden_units"].default, FIELDS["filters"].default)
