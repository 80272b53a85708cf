"""'Compare models': for the drawing on the canvas, the lesson's softmax, a network with a hidden
layer and a small CNN side by side (each one's guess and ten probabilities), where they
disagree, and which of them reads the class's collected drawings best.

Off by default, so the lesson's page is unchanged. The models are the shipped ones, except
that the model in use takes the place of its own architecture. Recognition stays NumPy.
"""
from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from classroom import compare, feedback, paths
from model import store
from model.config import ARCHITECTURES
from model.recognizer import Prediction, Recognizer
from ui.charts import probability_spec
from ui.i18n import t
from ui.models import shipped_model

# A phone (Streamlit stacks columns at 640 px and less) keeps the three side by side: that is
# the point of the view, and three small columns of 110 px still hold a name, a large digit
# and ten bars. The digit is large, as under the canvas, but smaller than the page's guess.
# The small charts have no toolbar: on a phone a tap leaves it hovering over the next column.
STYLE = """<style>
.st-key-compare_side [data-testid="stColumn"] h1 { font-size: 3.5rem; line-height: 1; padding: 0; text-align: center; }
.st-key-compare_side [data-testid="stMarkdownContainer"] p { word-break: keep-all; }
.st-key-compare_side [data-testid="stElementToolbar"] { display: none; }
@media (max-width: 640px) {
  .st-key-compare_side [data-testid="stHorizontalBlock"] { flex-wrap: nowrap; gap: 0.4rem; }
  .st-key-compare_side [data-testid="stColumn"] { min-width: 0; }
  .st-key-compare_side [data-testid="stColumn"] p { font-size: 0.8rem; line-height: 1.3; }
  .st-key-compare_side [data-testid="stColumn"] [data-testid="stElementContainer"]:first-child p { min-height: 2.6em; }
  .st-key-compare_side [data-testid="stColumn"] h1 { font-size: 2.5rem; }
}
</style>"""


@dataclass(frozen=True)
class Slot:
    architecture: str
    whose: str                       # "lesson", "shipped", "yours" or "class_model"
    recognizer: Recognizer | None
    problem: str | None = None       # why there is no model in this slot, in the page's words

    @property
    def title(self) -> str:
        name = t(f"compare.name_{self.architecture}")
        return name if self.whose == "shipped" else t(f"compare.{self.whose}", model=name)

    @property
    def short(self) -> str:
        """The model's name inside a sentence: 'the CNN', 'your CNN'."""
        key = {"yours": "compare.your", "class_model": "compare.the_class"}.get(self.whose, "compare.the")
        return t(key, model=t(f"compare.short_{self.architecture}"))


def slots(in_use: Recognizer) -> list[Slot]:
    """The three models to compare: the shipped ones, the model in use in its architecture's place."""
    out = []
    for architecture in ARCHITECTURES:
        if in_use.architecture == architecture and not same_file(in_use.path, store.SHIPPED_FILES[architecture]):
            whose = "class_model" if same_file(in_use.path, paths.class_model_path()) else "yours"
            out.append(Slot(architecture, whose, in_use))
            continue
        whose = "lesson" if architecture == "softmax" else "shipped"
        try:
            out.append(Slot(architecture, whose, shipped_model(architecture)))
        except store.ModelFileError as e:
            missing = not store.SHIPPED_FILES[architecture].is_file()
            out.append(Slot(architecture, whose, None, t("compare.missing") if missing
                            else t("compare.unreadable", detail=str(e))))
    return out


def same_file(a, b) -> bool:
    if a is None or b is None:
        return False
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def compact_spec(probabilities) -> dict:
    """The guess's ten bars, made to fit a narrow column: no axis titles, no percent axis (the
    bars' heights on the shared 0-1 scale say it; the tooltip gives the number)."""
    spec = probability_spec(probabilities, t("chart.digit"), t("chart.probability"))
    spec["encoding"]["x"].update(title=None, axis={"labelAngle": 0, "labelFontSize": 10})
    spec["encoding"]["y"].update(title=None, axis=None)
    return spec


def column_ui(slot: Slot, prediction: Prediction | None) -> None:
    st.markdown(f"**{slot.title}**")
    if slot.recognizer is None:
        st.caption(slot.problem)
    elif prediction is None or prediction.digit is None:
        st.caption(t("compare.no_guess_here"))
    else:
        with st.container(key=f"compare_guess_{slot.architecture}"):
            st.title(str(prediction.digit), anchor=False)
        st.caption(t("compare.sure", confidence=f"{prediction.confidence:.0%}"))
        st.vega_lite_chart(spec=compact_spec(prediction.probabilities), height=110, width="stretch")


def agreement_text(read: dict[str, int], names: dict[str, str]) -> str:
    """'They disagree: the softmax reads 7; the hidden layer and the CNN read 4.' or 'They agree'."""
    found = compare.groups(read)
    if len(found) == 1:
        return t("compare.agree", digit=found[0][0])
    parts = [t("compare.reads_one" if len(models) == 1 else "compare.reads",
               models=t("compare.and").join(names[m] for m in models), digit=digit) for digit, models in found]
    return t("compare.disagree", groups=t("compare.separator").join(parts))


def guesses_ui(image, in_use: Recognizer, mine: Prediction, chosen: list[Slot]) -> None:
    """The three guesses side by side and where they disagree; a drawing that is no digit says
    so once, instead of three times. `mine` is the page's own guess with the model in use."""
    if image is None or mine.rejected == "empty":
        st.info(t("compare.draw"))
        return
    if mine.rejected is not None:
        st.info(t("compare.rejected", reason=t(f"guess.{mine.rejected}")))
        return
    predictions = {s.architecture: (mine if s.recognizer is in_use else s.recognizer.predict(image))
                   for s in chosen if s.recognizer is not None}
    with st.container(key="compare_side"):
        for column, slot in zip(st.columns(len(chosen)), chosen):
            with column:
                column_ui(slot, predictions.get(slot.architecture))
    read = {a: p.digit for a, p in predictions.items() if p.digit is not None}
    if len(read) > 1:
        st.markdown(agreement_text(read, {s.architecture: s.short for s in chosen}))


@st.cache_resource(show_spinner=False, max_entries=16)
def known_readings(fingerprint: str) -> MutableMapping[int, int | None]:
    """Each model's guesses for the class's drawings, by drawing id, kept for the whole server:
    a new drawing is read once per model, not the whole collection again."""
    return {}


@st.cache_resource(show_spinner=False, max_entries=8)
def class_scores(drawings_key: tuple[int, int], models_key: tuple[str, ...], _models: dict[str, Recognizer]):
    """The models' scores on the class's drawings: computed when a drawing is added or deleted
    (its count and newest id) or a model changes (its weights), not at every student's rerun."""
    known = {a: known_readings(r.fingerprint) for a, r in _models.items()}
    return compare.score(_models, feedback.find(), known)


def class_table_ui(chosen: list[Slot]) -> None:
    """Which model reads this class's drawings best: right / total and accuracy, best first."""
    try:
        count, _, newest = feedback.tally()
    except feedback.FeedbackError:
        return          # the drawings' own views say what is wrong with their database
    models = {s.architecture: s.recognizer for s in chosen if s.recognizer is not None}
    if count == 0 or not models:
        return
    with st.spinner(t("compare.scoring")):
        try:
            scores = class_scores((count, newest), tuple(r.fingerprint for r in models.values()), models)
        except feedback.FeedbackError:
            return
    titles = {s.architecture: s.title for s in chosen}
    table = pd.DataFrame([{t("compare.col_model"): titles[s.model],
                           t("compare.col_right"): t("compare.right_of", right=s.right, total=s.total),
                           t("compare.col_accuracy"): f"{s.accuracy:.0%}"} for s in scores])
    with st.container(key="compare_class"):
        st.markdown(t("compare.class_title"))
        st.table(table, hide_index=True, border="horizontal")


def compare_ui(image, in_use: Recognizer, prediction: Prediction) -> None:
    """The 'Compare models' switch and, when it is on, the comparison. `prediction` is the
    page's guess for `image` with `in_use`: the drawing is not converted for it a second time."""
    if not st.toggle(t("compare.toggle"), key="compare_models", help=t("compare.toggle_help")):
        return
    st.html(STYLE)
    chosen = slots(in_use)
    guesses_ui(image, in_use, prediction, chosen)
    class_table_ui(chosen)
    st.caption(t("compare.lesson_learned"))     # what bench/architectures.py measured, for students
