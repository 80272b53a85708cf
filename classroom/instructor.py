"""The instructor gate: who may publish, see the class's drawings and run the queue.

There is always a secret. A teacher may set a fixed password (Streamlit's secret
`instructor_password`, or $DIGITS_INSTRUCTOR_PASSWORD); without one, the server makes an
instructor code when it starts and prints it in its terminal with a ready link, as
Jupyter prints its token. Students never get the instructor's controls by default.

Guessing is slowed in two ways that never lock the teacher out:
- each session's wrong attempts double that session's own wait (1 s, 2 s, 4 s … 60 s), so a
  student who types wrong passwords only slows themselves;
- server-wide, attempts are checked at most `CHECKS_PER_SECOND` times a second: an attempt
  beyond that waits its turn (it is never refused), which caps how fast many sessions
  together can guess, while a correct password is still accepted, a moment later at worst.
The comparison is constant-time, and neither the password nor an attempt is ever logged.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Callable

# Letters and digits that cannot be mistaken for one another when read off a screen.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_GROUPS, CODE_GROUP_LENGTH = 3, 4      # K7QF-M2XR-9HTD: about 59 bits, far beyond guessing
CHECKS_PER_SECOND = 4.0
MAX_WAIT_SECONDS = 60.0


def make_code() -> str:
    return "-".join("".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUP_LENGTH))
                    for _ in range(CODE_GROUPS))


@dataclass
class Attempts:
    """One session's wrong attempts (kept in that session's state, not the server's)."""
    failures: int = 0
    next_allowed: float = 0.0


@dataclass(frozen=True)
class GateAnswer:
    ok: bool
    reason: str             # "unlocked", "wrong" (then `wait_seconds` until the next try), "wait"
    wait_seconds: float = 0.0


class InstructorGate:
    """Checks instructor secrets: `password` if one is configured, else a code made here."""

    def __init__(self, password: str | None = None, code: str | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 checks_per_second: float = CHECKS_PER_SECOND):
        """A configured `password`; else the made `code` (None: make one now)."""
        self.generated = not password
        # A made code is shown in the server's terminal; a configured password never is.
        self.code: str | None = (code or make_code()) if self.generated else None
        self._secret = _digest(_normalize(self.code) if self.code else password)
        self._clock, self._sleep = clock, sleep
        self._spacing = 1.0 / checks_per_second
        self._lock = threading.Lock()
        self._next_slot = 0.0

    def check(self, attempt: str, attempts: Attempts) -> GateAnswer:
        """Whether `attempt` is the instructor's secret; `attempts` is the asking session's record."""
        now = self._clock()
        if now < attempts.next_allowed:
            wait = attempts.next_allowed - now
            return GateAnswer(False, "wait", wait)
        with self._lock:  # take the next server-wide slot; wait for it outside the lock
            slot = max(now, self._next_slot)
            self._next_slot = slot + self._spacing
        if slot > now:
            self._sleep(slot - now)
        candidate = _normalize(attempt) if self.generated else attempt
        if hmac.compare_digest(_digest(candidate), self._secret):
            attempts.failures, attempts.next_allowed = 0, 0.0
            return GateAnswer(True, "unlocked")
        attempts.failures += 1
        wait = min(2.0 ** (attempts.failures - 1), MAX_WAIT_SECONDS)
        attempts.next_allowed = self._clock() + wait
        return GateAnswer(False, "wrong", wait)


def _normalize(code: str) -> str:
    """A generated code is read off a screen: case, spaces and dashes do not matter."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _digest(text: str) -> bytes:
    # Comparing fixed-length digests keeps the time independent of the attempt's length too.
    return hashlib.sha256(text.encode()).digest()


def announcement(code: str, url: str) -> str:
    """What the server prints in its terminal when it made a code."""
    link = f"{url.rstrip('/')}/?instructor={code}"
    return ("\n  Instructor code: {code}\n"
            "  Open this link on the teacher's computer to unlock the instructor controls:\n"
            "      {link}\n"
            "  (or type the code under Instructor in the page's sidebar). Students never need it.\n"
            ).format(code=code, link=link)
