"""Digit Canvas: draw a digit, see the 28x28 the softmax model sees and what it guesses,
and retrain the model from the sidebar.

    streamlit run streamlit_app.py

The page is thin: `*_ui()` functions draw widgets and return plain values; everything
else lives in the `model` package. TensorFlow is never imported in the server: recognition
runs on the saved weights with NumPy, and training runs in a separate process.
"""
from __future__ import annotations

import uuid

import streamlit as st

from classroom import class_model, paths, runs
from classroom.estimate import Speed
from classroom.queue import JobState, JobStatus, TrainingQueue, TrainingRefused
from model import config as cfg
from model.pictures import enlarge
from model.recognizer import Prediction
from ui.canvas import canvas_ui, upload_ui
from ui.compare import compare_ui
from ui.charts import history_specs, probability_spec
from ui.feedback import feedback_ui
from ui.i18n import language, language_ui, say, t, words
from ui.models import model_in_use, model_label
from ui.instructor import instructor_ui, is_instructor, unlock_from_link
from ui.layout import NARROW_STYLE, is_phone
from ui.projector import projector_page
from ui import settings
from ui.teaching import teaching_ui

UNSURE_BELOW = 0.5  # top probability under this: no digit is clearly ahead
KNOWN_RUNS = 64     # recent recorded trainings the queue's first estimates learn from
# A fragment on a timer makes Streamlit's frontend ask for a full run each time it reconnects.
# Without one, a page whose last run was a full one asks for nothing: if its session expired
# meanwhile (a phone locked for longer than server.disconnectedSessionTTL, a server restart),
# the server has a new session without the page's fragments and drops every stroke and Clear.
IDLE_POLL_SECONDS = 300

SEEN_WIDTH = 84     # px: the 28x28 the model sees, beside its guess under a phone's canvas
STYLE = """<style>
.st-key-guess h1 { font-size: 7rem; line-height: 1; padding: 0; text-align: center; }
.st-key-guess [data-testid="stMarkdownContainer"] { margin-bottom: 0; }
.st-key-guess_row .st-key-guess h1 { font-size: 4.5rem; }
</style>"""


def session_alive(owner: str) -> bool:
    """Whether a browser session is still connected (its queued training is kept only then)."""
    from streamlit.runtime import Runtime
    return not Runtime.exists() or Runtime.instance().is_active_session(owner)


def current_session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else uuid.uuid4().hex


@st.cache_resource(show_spinner=False, on_release=TrainingQueue.close)
def training_queue() -> TrainingQueue:
    """The server's one training queue: one training at a time, whoever asks, in one training
    process that loads MNIST itself and records every run in the runs database as "page".
    Its estimates start from the speed of the trainings recorded on this machine."""
    try:
        speed = Speed.from_runs(runs.list_runs()[:KNOWN_RUNS])
    except runs.RunsError:
        speed = Speed()
    return TrainingQueue(model_path=paths.new_model_path, is_alive=session_alive, record_as="page", speed=speed)


def init_session() -> None:
    if "session_id" in st.session_state:
        return
    st.session_state.session_id = current_session_id()
    st.session_state.model_path = None      # None: the class model (the shipped one until one is published)
    st.session_state.class_version = class_model.class_model().version
    st.session_state.job_id = None
    st.session_state.canvas_id = 0
    st.session_state.preset = "the lesson"
    for f in cfg.fields():
        st.session_state[f.name] = f.default


# -- sidebar: the training settings (ui/settings.py), judged by the server's queue --------
def sidebar_ui() -> tuple[cfg.TrainConfig | None, bool]:
    """The language, the training settings and whether Train was pressed (not on a phone)."""
    return settings.sidebar_ui(training_queue())


def settings_ui() -> tuple[cfg.TrainConfig | None, bool]:
    """The training settings and whether Train was pressed, wherever they are drawn."""
    return settings.settings_ui(training_queue())


# -- output ------------------------------------------------------------------------------
def guess_ui(prediction: Prediction, uploaded: bool, compact: bool) -> None:
    """The guess, or why there is none. `compact`: in one row under a phone's canvas (what the
    model sees, its guess, how sure it is), so that the drawing and its guess share the screen;
    otherwise beside the canvas, large, for a laptop or a projector."""
    if prediction.digit is None:  # nothing drawn, or not a digit: no guess, whatever the model would say
        reason = prediction.rejected or "empty"
        if reason == "empty":
            st.info(t("guess.empty_upload" if uploaded else "guess.empty"))
        else:
            st.warning(t(f"guess.{reason}"))
        return
    if not compact:
        seen, guess = st.columns(2)
        with seen:
            st.image(enlarge(prediction.input), caption=t("guess.seen"))
        with guess:
            st.caption(t("guess.title"))
            with st.container(key="guess"):
                st.title(str(prediction.digit), anchor=False)
        return
    sure = f"{prediction.confidence:.1%}"
    st.caption(t("phone.seen_and_guess"))
    with st.container(horizontal=True, vertical_alignment="center", gap="small", key="guess_row"):
        st.image(enlarge(prediction.input), width=SEEN_WIDTH)
        with st.container(key="guess", width="content"):
            st.title(str(prediction.digit), anchor=False)
        st.markdown(t("phone.sure", confidence=sure) if prediction.confidence >= UNSURE_BELOW
                    else t("phone.unsure", confidence=sure), width="content")


def prediction_ui(prediction: Prediction) -> None:
    """How sure the model is, in words, and its ten probabilities."""
    if prediction.digit is None:
        return
    with st.container(key="prediction"):
        if prediction.confidence < UNSURE_BELOW:
            st.warning(t("guess.unsure", digit=prediction.digit, confidence=f"{prediction.confidence:.0%}"))
        else:
            st.markdown(t("guess.confidence", confidence=f"{prediction.confidence:.1%}"))
        st.vega_lite_chart(spec=probability_spec(prediction.probabilities, t("chart.digit"), t("chart.probability")),
                           height=220, width="stretch")


def job_ui(job: JobStatus) -> None:
    """The live view of this session's training: queue place, progress, curves, result."""
    if job.state == JobState.QUEUED:
        if job.note.key == "job.queued":
            st.info(t("job.waiting", position=job.position, seconds=f"{job.eta_seconds:.0f}"))
        else:
            st.info(say(job.note))
    elif not job.state.finished:
        st.progress(job.fraction, text=t("job.progress", note=say(job.note), epoch=job.epoch,
                                          epochs=job.config.epochs))
    if not job.state.finished and st.button(t("job.cancel"), key="cancel_training"):
        training_queue().cancel(job.id)
        st.rerun(scope="fragment")
    if job.history:  # one above the other: the sidebar is narrow
        # Plain Vega-Lite specs: this panel redraws every half second while a training runs,
        # and st.line_chart's Altair validation was most of the server's CPU then (bench/load.py --profile).
        loss, acc = history_specs(job.history, t("chart.train"), t("chart.test"), t("chart.epoch"),
                                  t("teach.loss"), t("teach.accuracy"), t("teach.data"))
        st.caption(t("chart.loss_per_epoch"))
        st.vega_lite_chart(spec=loss, height=160, width="stretch")
        st.caption(t("chart.accuracy_per_epoch"))
        st.vega_lite_chart(spec=acc, height=160, width="stretch")
    if job.state == JobState.DONE:
        with st.container(key="training_result"):
            st.success(t("job.result", test=f"{job.scores['test_accuracy']:.2%}",
                         train=f"{job.scores['train_accuracy']:.2%}", seconds=f"{job.scores['fit_seconds']:.1f}"))
    elif job.state in (JobState.DIVERGED, JobState.FAILED):
        st.error(say(job.note))
    elif job.state == JobState.CANCELLED:
        st.warning(say(job.note))


def training_panel() -> None:
    job = training_queue().status(st.session_state.job_id) if st.session_state.job_id else None
    if job is None:
        return
    if job.state.finished and st.session_state.get("ended_job") != job.id:
        # Once per job, the whole page: its timer stops polling (however the job ended), and
        # after a DONE the guess comes from the new model.
        st.session_state.ended_job = job.id
        if job.state == JobState.DONE:
            st.session_state.model_path = str(job.model_path)
        st.rerun()
    job_ui(job)


def submit_training(config: cfg.TrainConfig, drawings=None, where=st.sidebar) -> None:
    try:
        st.session_state.job_id = training_queue().submit(
            config, owner=st.session_state.session_id, drawings=drawings, instructor=is_instructor())
    except TrainingRefused as e:  # paused or over the budget since the settings last looked
        where.error(say(e.note))


@st.fragment
def drawing_ui() -> None:
    """The model in use, the canvas, its guess and the teaching tabs: a fragment, so that a
    stroke reruns only this part (not the sidebar and its panels), for the server and for the
    browser, which re-renders less. Whatever changes the model in use reruns the whole page."""
    recognizer, which = model_in_use()
    # The same elements on every run, so the canvas below keeps its place (and its drawing).
    with st.container(key="model_line"):
        label, back = st.columns([4, 1], vertical_alignment="center")
        label.markdown(model_label(recognizer, which))
        if back.button(t("model.back"), key="use_shipped", disabled=st.session_state.model_path is None):
            st.session_state.model_path = None
            st.rerun()

    # On a phone the result column goes under the drawing one: there the guess is in the
    # drawing column, under the canvas, so that both are on the screen without scrolling.
    phone = is_phone()
    draw, result = st.columns([1, 1.3], gap="large")
    with draw:
        source = st.radio(t("input.label"), ["draw", "upload"], horizontal=True, key="source",
                          label_visibility="collapsed", format_func=words("input.{option}"))
        image = canvas_ui() if source == "draw" else upload_ui()
        prediction = recognizer.predict(image) if image is not None else Prediction(None, None, None)
        if phone:
            guess_ui(prediction, uploaded=source == "upload", compact=True)
    with result:
        if not phone:
            guess_ui(prediction, uploaded=source == "upload", compact=False)
        prediction_ui(prediction)
        feedback_ui(image, prediction, which)

    compare_ui(image, recognizer, prediction)    # off by default: the lesson's page is unchanged
    chosen = teaching_ui(recognizer, image, prediction)
    if chosen is not None:
        st.session_state.model_path = chosen
        st.rerun()


def training_ui(settings, place) -> cfg.TrainConfig | None:
    """`settings()` (the training settings and Train), then this session's training (its place
    in the queue, its progress, its result), in `place`; returns the settings."""
    with place:
        config, train_clicked = settings()
        if train_clicked and config is not None:
            submit_training(config, where=place)
        job = training_queue().status(st.session_state.job_id) if st.session_state.job_id else None
        running = job is not None and not job.state.finished
        # Under the Train button, polled on its own while a training runs (and seldom otherwise).
        st.fragment(training_panel, run_every=0.5 if running else IDLE_POLL_SECONDS)()
    return config


def class_page() -> None:
    """The page every student and the teacher draw on. A phone's sidebar starts closed: there,
    training goes under the drawing area, in an expander that opens once this session has a
    training (waiting, running or done); elsewhere it is in the sidebar."""
    st.html(NARROW_STYLE)
    phone = is_phone()
    if phone:
        with st.sidebar:
            language_ui()
    else:
        config = training_ui(sidebar_ui, st.sidebar)

    with st.container(key="page_title"):
        st.title(t("page.title"), anchor=False)
    drawing_ui()
    if phone:  # open once this session has a training, or from the run its Train was pressed in
        opened = st.session_state.job_id is not None or bool(st.session_state.get("train"))
        config = training_ui(settings_ui, st.expander(t("phone.train"), icon=":material/model_training:",
                                                      expanded=opened, key="phone_training"))
    instructor_ui(st.session_state.model_path, training_queue(), st.session_state.session_id,
                  lambda drawings: submit_training(config or cfg.TrainConfig(), drawings))


def main() -> None:
    st.set_page_config(page_title="Digit Canvas", page_icon="✏️", layout="wide")
    st.markdown(STYLE, unsafe_allow_html=True)
    init_session()
    language()
    unlock_from_link()
    pages = [st.Page(class_page, title=t("page.title"), icon="✏️", default=True)]
    if is_instructor():  # the wall shows the class's drawings: the instructor's only
        pages.append(st.Page(projector_page, title=t("projector.title"), icon=":material/tv:", url_path="wall"))
    st.navigation(pages, position="sidebar" if len(pages) > 1 else "hidden").run()


main()
