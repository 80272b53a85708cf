"""Digit Canvas: draw a digit, see the 28x28 the softmax model sees and what it guesses,
and retrain the model from the sidebar.

    streamlit run streamlit_app.py

The page is thin: `*_ui()` functions draw widgets and return plain values; everything
else lives in the `model` package. TensorFlow is never imported in the server: recognition
runs on the saved weights with NumPy, and training runs in a separate process.
"""
from __future__ import annotations

import uuid

import pandas as pd
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from model import config as cfg
from model import classroom, store
from model.jobs import JobState, JobStatus, TrainingQueue
from model.pictures import enlarge
from model.recognizer import Prediction, Recognizer, load_recognizer
from model.upload import UploadError, read_upload
from ui.charts import history_frames
from ui.classroom import feedback_ui, instructor_ui
from ui.teaching import teaching_ui

CANVAS_SIZE = 280
UNSURE_BELOW = 0.5  # top probability under this: no digit is clearly ahead

STYLE = """<style>
.st-key-guess h1 { font-size: 7rem; line-height: 1; padding: 0; text-align: center; }
</style>"""


@st.cache_resource(show_spinner=False, max_entries=64)
def recognizer_for(path: str, version: str = "") -> Recognizer:
    """One recognizer per model file (and version of it) for the whole server: the class
    model loads once, however many students draw with it."""
    return load_recognizer(path)


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
    process that loads MNIST itself and records every run in the runs database as "page"."""
    return TrainingQueue(model_path=store.new_model_path, is_alive=session_alive, record_as="page")


def init_session() -> None:
    if "session_id" in st.session_state:
        return
    st.session_state.session_id = current_session_id()
    st.session_state.model_path = None      # None: the class model (the shipped one until one is published)
    st.session_state.class_version = classroom.class_model().version
    st.session_state.job_id = None
    st.session_state.canvas_id = 0
    st.session_state.preset = "the lesson"
    for f in cfg.fields():
        st.session_state[f.name] = f.default


# -- sidebar -----------------------------------------------------------------------------
def apply_preset() -> None:
    preset = cfg.PRESETS[st.session_state.preset]
    for name, value in preset.to_dict().items():
        st.session_state[name] = value


def config_widget(f) -> object:
    """One widget for one config field, from its metadata: label, bounds, help."""
    meta = f.metadata
    label, help_ = meta["label"], meta["help"]
    if meta["choices"]:
        return st.selectbox(label, meta["choices"], help=help_, key=f.name)
    if f.type == "bool":
        return st.toggle(label, help=help_, key=f.name)
    if f.type == "int":
        return st.number_input(label, min_value=meta["low"], max_value=meta["high"], step=1,
                               help=help_, key=f.name)
    return st.number_input(label, min_value=float(meta["low"]), max_value=float(meta["high"]),
                           step=None, format="%g", help=help_, key=f.name)


BASIC = ("epochs", "batch_size", "learning_rate", "optimizer")


def sidebar_ui() -> tuple[cfg.TrainConfig | None, bool]:
    """The training settings and whether Train was pressed."""
    with st.sidebar:
        st.header("Retrain the model")
        st.radio("Start from", list(cfg.PRESETS), key="preset", on_change=apply_preset, horizontal=True,
                 help="The classic lesson's settings, or the ones that make the shipped model.")
        fields = {f.name: f for f in cfg.fields()}
        values = {name: config_widget(fields[name]) for name in BASIC}
        with st.expander("More settings"):
            values.update({name: config_widget(f) for name, f in fields.items() if name not in BASIC})
        try:
            config = cfg.TrainConfig(**values)
        except cfg.ConfigError as e:
            st.error(str(e))
            config = None
        clicked = st.button("Train", key="train", type="primary", disabled=config is None,
                            use_container_width=True)
    return config, clicked


# -- input -------------------------------------------------------------------------------
def canvas_ui() -> object:
    """The drawing canvas; returns its RGBA pixels, or None before anything is drawn."""
    pen = st.slider("Pen width", 5, 40, 20, key="pen_width")
    result = st_canvas(stroke_width=pen, stroke_color="#FFFFFF", background_color="#000000",
                       width=CANVAS_SIZE, height=CANVAS_SIZE, drawing_mode="freedraw",
                       return_image_data=True, update_streamlit=True,
                       key=f"canvas-{st.session_state.canvas_id}")
    if st.button("Clear", key="clear"):
        st.session_state.canvas_id += 1
        st.rerun(scope="fragment")  # a new, empty canvas; nothing outside the drawing area changes
    return result.image_data


def upload_ui() -> object:
    """A photo or scan of a digit, as a canvas-like image; None if none or unreadable."""
    file = st.file_uploader("A photo or scan of one digit (PNG or JPEG)", type=["png", "jpg", "jpeg"],
                            key="upload")
    if file is None:
        return None
    try:
        image = read_upload(file.getvalue())
    except UploadError as e:
        st.error(str(e))
        return None
    st.image(image, caption="Your image, as ink on black", width=CANVAS_SIZE)
    return image


# -- output ------------------------------------------------------------------------------
def prediction_ui(prediction: Prediction) -> None:
    if prediction.digit is None:
        st.info("Draw a digit on the black square: the model's guess appears here as soon as you lift the pen.")
        return
    seen, guess = st.columns(2)
    with seen:
        st.image(enlarge(prediction.input), caption="What the model sees (28 × 28)")
    with guess:
        st.caption("The model's guess")
        with st.container(key="guess"):
            st.title(str(prediction.digit), anchor=False)
    with st.container(key="prediction"):
        if prediction.confidence < UNSURE_BELOW:
            st.warning(f"The model is unsure: no digit is clearly ahead "
                       f"(its best guess, {prediction.digit}, has only {prediction.confidence:.0%}).")
        else:
            st.markdown(f"Confidence: **{prediction.confidence:.1%}**")
        chart = pd.DataFrame({"digit": [str(d) for d in range(10)], "probability": prediction.probabilities})
        st.bar_chart(chart, x="digit", y="probability", height=220)


def model_label(recognizer: Recognizer, which: str) -> str:
    meta, c = recognizer.metadata, recognizer.config
    return (f"Model in use: **{which}** — {c.epochs} epochs, batch {c.batch_size}, {c.optimizer} "
            f"{c.learning_rate:g}; MNIST test accuracy {meta.get('test_accuracy', float('nan')):.1%}.")


def model_in_use() -> tuple[Recognizer, str]:
    """The session's own model if it has one, else the class model; and how to call it."""
    current = classroom.class_model()
    if st.session_state.class_version != current.version:
        st.session_state.class_version = current.version
        if st.session_state.model_path is None:
            st.toast("The instructor published a new class model: your guesses now come from it.")
    own = st.session_state.model_path
    if own is not None:
        try:
            recognizer = recognizer_for(own)
            return recognizer, f"your model trained {recognizer.metadata.get('trained_at', '')[11:16]} UTC"
        except store.ModelFileError as e:
            st.warning(f"That model cannot be loaded ({e}); back to the class model.")
            st.session_state.model_path = None
    try:
        recognizer = recognizer_for(str(current.path), current.version)
    except store.ModelFileError as e:
        st.error(f"The class model cannot be loaded: {e} Reinstall the project, or run "
                 "`python train.py --preset best --out model/trained/digits.keras`.")
        st.stop()
    return recognizer, ("the class model (published by the instructor)" if current.published
                        else "the shipped model")


def job_ui(job: JobStatus) -> None:
    """The live view of this session's training: queue place, progress, curves, result."""
    if job.state == JobState.QUEUED:
        st.info(f"Waiting for the trainer: position {job.position} in the queue, "
                f"about {job.eta_seconds:.0f} s.")
    elif not job.state.finished:
        st.progress(job.fraction, text=f"{job.message} epoch {job.epoch} of {job.config.epochs}")
    if not job.state.finished and st.button("Cancel training", key="cancel_training"):
        training_queue().cancel(job.id)
        st.rerun(scope="fragment")
    if job.history:  # one above the other: the sidebar is narrow
        loss, acc = history_frames(job.history)
        st.caption("Loss per epoch")
        st.line_chart(loss, height=160)
        st.caption("Accuracy per epoch")
        st.line_chart(acc, height=160)
    if job.state == JobState.DONE:
        with st.container(key="training_result"):
            st.success(f"Trained: test accuracy **{job.scores['test_accuracy']:.2%}**, "
                       f"train accuracy {job.scores['train_accuracy']:.2%}, "
                       f"in {job.scores['fit_seconds']:.1f} s of training. Your guesses now come from this model.")
    elif job.state in (JobState.DIVERGED, JobState.FAILED):
        st.error(job.message)
    elif job.state == JobState.CANCELLED:
        st.warning(job.message)


def training_panel() -> None:
    job = training_queue().status(st.session_state.job_id) if st.session_state.job_id else None
    if job is None:
        return
    if job.state == JobState.DONE and st.session_state.model_path != str(job.model_path):
        if st.session_state.get("adopted_job") != job.id:
            st.session_state.adopted_job = job.id
            st.session_state.model_path = str(job.model_path)
            st.rerun()  # the whole page: the guess must now come from the new model
    job_ui(job)


def submit_training(config: cfg.TrainConfig, drawings=None) -> None:
    st.session_state.job_id = training_queue().submit(config, owner=st.session_state.session_id,
                                                      drawings=drawings)


@st.fragment
def drawing_ui() -> None:
    """The model in use, the canvas, its guess and the teaching tabs: a fragment, so that a
    stroke reruns only this part (not the sidebar and its panels), for the server and for the
    browser, which re-renders less. Whatever changes the model in use reruns the whole page."""
    recognizer, which = model_in_use()
    # The same elements on every run, so the canvas below keeps its place (and its drawing).
    label, back = st.columns([4, 1], vertical_alignment="center")
    label.markdown(model_label(recognizer, which))
    if back.button("Back to the class model", key="use_shipped", disabled=st.session_state.model_path is None):
        st.session_state.model_path = None
        st.rerun()

    draw, result = st.columns([1, 1.3], gap="large")
    with draw:
        source = st.radio("Input", ["Draw", "Upload a photo"], horizontal=True, key="source",
                          label_visibility="collapsed")
        image = canvas_ui() if source == "Draw" else upload_ui()
    with result:
        prediction = recognizer.predict(image) if image is not None else Prediction(None, None, None)
        prediction_ui(prediction)
        feedback_ui(image, prediction, which)

    chosen = teaching_ui(recognizer, str(recognizer.path), image, prediction)
    if chosen is not None:
        st.session_state.model_path = chosen
        st.rerun()


def main() -> None:
    st.set_page_config(page_title="Digit Canvas", page_icon="✏️", layout="wide")
    st.markdown(STYLE, unsafe_allow_html=True)
    init_session()
    config, train_clicked = sidebar_ui()
    if train_clicked and config is not None:
        submit_training(config)
    job = training_queue().status(st.session_state.job_id) if st.session_state.job_id else None
    running = job is not None and not job.state.finished
    with st.sidebar:  # under the Train button, polled on its own while a training runs
        st.fragment(training_panel, run_every=0.5 if running else None)()
    instructor_ui(st.session_state.model_path,
                  lambda drawings: submit_training(config or cfg.TrainConfig(), drawings))

    st.title("Digit Canvas", anchor=False)
    drawing_ui()


main()
