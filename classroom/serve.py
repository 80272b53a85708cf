"""Start the page for a class:

    python -m classroom.serve                       # then open the link it prints
    python -m classroom.serve --server.port 8600    # any `streamlit run` option passes through

With no instructor password configured (Streamlit's secret `instructor_password`, or
$DIGITS_INSTRUCTOR_PASSWORD), it makes an instructor code and prints it with a ready link,
as Jupyter prints its token, before Streamlit's own banner; then it runs
`streamlit run streamlit_app.py` with the code handed over in $DIGITS_INSTRUCTOR_CODE.
"""
from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

from . import paths
from .instructor import announcement, make_code

APP = paths.REPO / "streamlit_app.py"
DEFAULT_PORT = 8501


def secret_password() -> str | None:
    """`instructor_password` from the secrets files Streamlit reads (project's, then the user's)."""
    for file in (paths.REPO / ".streamlit" / "secrets.toml", Path("~/.streamlit/secrets.toml").expanduser()):
        try:
            with open(file, "rb") as f:
                value = tomllib.load(f).get("instructor_password")
        except (OSError, tomllib.TOMLDecodeError):
            continue
        if value:
            return str(value)
    return None


def option(argv: list[str], name: str) -> str | None:
    """The value of `--name value` or `--name=value` among streamlit's options."""
    for i, arg in enumerate(argv):
        if arg == f"--{name}" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return None


def class_url(address: str | None, port) -> str:
    """The address students and the teacher open: $DIGITS_PUBLIC_URL, else this machine's
    network address (or the one the server listens on) and `port`."""
    configured = paths.public_url()
    if configured:
        return configured
    from streamlit import net_util
    if address in ("0.0.0.0", "::"):   # listening everywhere names no address to open
        address = None
    return f"http://{address or net_util.get_internal_ip() or 'localhost'}:{port}"


def page_url(argv: list[str]) -> str:
    return class_url(option(argv, "server.address"), option(argv, "server.port") or DEFAULT_PORT)


def main(argv: list[str]) -> None:
    env = dict(os.environ)
    if not (paths.instructor_password() or secret_password()):
        code = make_code()
        env["DIGITS_INSTRUCTOR_CODE"] = code
        print(announcement(code, page_url(argv)), flush=True)
    os.execve(sys.executable, [sys.executable, "-m", "streamlit", "run", str(APP), *argv], env)


if __name__ == "__main__":
    main(sys.argv[1:])
