"""The training settings, in the sidebar (or under the canvas on a phone): a preset to start
from, the model (the lesson's softmax, a hidden layer, a CNN) with its size, the lesson's four
settings, the rest in an expander, and Train. Every widget is generated from a
`model.config.TrainConfig` field: its key is the field's name, its words come from the catalog
(`config.<name>.label` / `.help`), its bounds from the field. Returns plain values; the page
submits them.
"""
from __future__ import annotations

import streamlit as st

from classroom.queue import TrainingQueue
from model import config as cfg
from ui.i18n import language_ui, say, t, words
from ui.instructor import is_instructor

MODEL = ("architecture",)                                   # first: which model the rest trains
BASIC = ("epochs", "batch_size", "learning_rate", "optimizer")
# A size that means something for one architecture only is shown with it alone; hidden, it
# keeps its default, so a CNN's run never records (or lists as changed) a hidden layer's units.
ONLY_WITH = {"hidden_units": "mlp", "filters": "cnn"}


def apply_preset() -> None:
    preset = cfg.PRESETS[st.session_state.preset]
    for name, value in preset.to_dict().items():
        st.session_state[name] = value


def config_widget(f) -> object:
    """One widget for one config field: its words from the catalog, its bounds from the config.
    Numbers take whatever is typed (no min/max on the widget, which would keep the old value
    and train with it): the config checks the bounds, and an out-of-range value disables
    Train and says why."""
    meta = f.metadata
    label, help_ = t(f"config.{f.name}.label"), t(f"config.{f.name}.help")
    if meta["choices"]:
        return st.selectbox(label, meta["choices"], help=help_, key=f.name,
                            format_func=words(f"config.{f.name}.{{option}}"))
    if f.type == "bool":
        return st.toggle(label, help=help_, key=f.name)
    if meta["low"] is not None:
        low, high = f"{meta['low']:g}", f"{meta['high']:g}"
        help_ = f"{help_} {t('config.range', low=low, high=high)}"
    if f.type == "int":
        return st.number_input(label, step=1, help=help_, key=f.name)
    return st.number_input(label, step=None, format="%g", help=help_, key=f.name)


def sidebar_ui(queue: TrainingQueue) -> tuple[cfg.TrainConfig | None, bool]:
    """The language, the training settings and whether Train was pressed (not on a phone)."""
    with st.sidebar:
        language_ui()
        st.header(t("sidebar.title"))
        return settings_ui(queue)


def settings_ui(queue: TrainingQueue) -> tuple[cfg.TrainConfig | None, bool]:
    """The training settings and whether Train was pressed, wherever they are drawn; a student's
    settings that `queue` would refuse (over the budget, paused) say why and disable Train."""
    fields = {f.name: f for f in cfg.fields()}
    for name, f in fields.items():
        # Streamlit forgets a widget's value once a run does not draw it (Hidden units while a
        # CNN is chosen): it comes back with its default, not as an empty, out-of-bounds box.
        if name not in st.session_state:
            st.session_state[name] = f.default
    st.radio(t("sidebar.start_from"), list(cfg.PRESETS), key="preset", on_change=apply_preset,
             horizontal=True, help=t("sidebar.start_from_help"),
             format_func=words("preset.{option}"))
    values = {name: config_widget(fields[name]) for name in MODEL}
    values.update({name: config_widget(fields[name]) for name, architecture in ONLY_WITH.items()
                   if values["architecture"] == architecture})
    values.update({name: config_widget(fields[name]) for name in BASIC})
    with st.expander(t("sidebar.more_settings")):
        values.update({name: config_widget(f) for name, f in fields.items()
                       if name not in (*MODEL, *ONLY_WITH, *BASIC)})
    try:
        config = cfg.TrainConfig(**values)
    except cfg.ConfigError as e:
        st.error(config_error(e))
        config = None
    refusal = None
    if config is not None and not is_instructor():
        refusal = queue.refusal(config)
        if refusal:
            st.warning(say(refusal))
    clicked = st.button(t("sidebar.train"), key="train", type="primary",
                        disabled=config is None or refusal is not None, width="stretch")
    return config, clicked


def config_error(e: cfg.ConfigError) -> str:
    """A setting out of bounds, said in the page's language."""
    bound = ", ".join(e.bound) if isinstance(e.bound, tuple) else f"{e.bound:g}" if e.bound is not None else ""
    return t(f"config_error.{e.kind}", label=t(f"config.{e.field}.label"), bound=bound) + " " + t("config_error.off")
