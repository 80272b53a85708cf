"""Where a class's data lives, and every environment variable the project reads: one place.

    DIGITS_DATA_DIR             the data folder (default ~/.local/share/digit-canvas): trained
                                models, the class model, the runs and drawings databases, and
                                MNIST prepared per preprocessing
    DIGITS_RUNS_DB              the runs database (default: runs.sqlite in the data folder)
    DIGITS_FEEDBACK_DB          the class's drawings (default: drawings.sqlite in the data folder)
    MNIST_PATH                  Keras's mnist.npz (default: Keras's cache, if it is there)
    DIGITS_DRAWN_PATH           drawings every new model is scored on (default: ../shared's drawn_dev.npz)
    DIGITS_INSTRUCTOR_PASSWORD  a fixed instructor password (else Streamlit's secret, else a code
                                made when the server starts)
    DIGITS_INSTRUCTOR_CODE      the code `python -m classroom.serve` made and printed (set by it
                                for the server it starts, not by people)
    DIGITS_PUBLIC_URL           the address students open, when it is not this machine's own
                                (behind a proxy, a tunnel, a DNS name)

Every function reads the environment when it is called, so a test (or a server) that sets a
variable sees it at once. `model/` never reads any of these: it is handed paths.
"""
from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KERAS_CACHE = Path("~/.keras/datasets/mnist.npz")


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    """Trained models, the class model, the databases: outside the repository."""
    return _env_path("DIGITS_DATA_DIR") or Path("~/.local/share/digit-canvas").expanduser()


def new_model_path() -> Path:
    """A new file for a model trained from the page or by train.py without --out."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return data_dir() / "models" / f"run-{stamp}.keras"


def class_model_path() -> Path:
    """The model the instructor published to the whole class (absent: the shipped model)."""
    return data_dir() / "class" / "class_model.keras"


def prepared_dir() -> Path:
    """MNIST prepared per preprocessing pipeline, kept between trainings."""
    return data_dir() / "prepared"


def runs_db() -> Path:
    return _env_path("DIGITS_RUNS_DB") or data_dir() / "runs.sqlite"


def drawings_db() -> Path:
    return _env_path("DIGITS_FEEDBACK_DB") or data_dir() / "drawings.sqlite"


def mnist_path() -> Path | None:
    """Keras's mnist.npz: $MNIST_PATH (even if missing, so the message names it), else Keras's
    cache if it is there; None when neither: nothing here downloads on its own."""
    configured = _env_path("MNIST_PATH")
    if configured is not None:
        return configured
    cache = KERAS_CACHE.expanduser()
    return cache if cache.is_file() else None


def drawn_dev_path() -> Path | None:
    """Drawings to score every new model on: $DIGITS_DRAWN_PATH, else ../shared's drawn_dev.npz."""
    path = _env_path("DIGITS_DRAWN_PATH") or REPO.parent / "shared" / "data" / "drawn_dev.npz"
    return path if path.is_file() else None


def instructor_password() -> str | None:
    """A fixed password from $DIGITS_INSTRUCTOR_PASSWORD (the page also reads Streamlit's secret)."""
    return os.environ.get("DIGITS_INSTRUCTOR_PASSWORD") or None


def instructor_code() -> str | None:
    """The instructor code `python -m classroom.serve` made and already printed."""
    return os.environ.get("DIGITS_INSTRUCTOR_CODE") or None


def public_url() -> str | None:
    return os.environ.get("DIGITS_PUBLIC_URL") or None
