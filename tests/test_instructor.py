"""The instructor gate: there is always a secret (a configured password, or a code made at
start); wrong attempts slow only the session that made them; many sessions together are
paced server-wide but never lock out the right password; codes read off a screen forgive
case, spaces and dashes; the terminal's announcement carries a ready link."""
from __future__ import annotations

import re
import threading

import pytest

from classroom.instructor import (CODE_ALPHABET, MAX_WAIT_SECONDS, Attempts, InstructorGate, announcement,
                                  make_code)


class FakeTime:
    """A clock that only moves when slept on or moved by the test."""

    def __init__(self, now: float = 1000.0):
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def gate(password: str | None = "secret", time: FakeTime | None = None, **options) -> InstructorGate:
    time = time or FakeTime()
    return InstructorGate(password, clock=time, sleep=time.sleep, **options)


@pytest.mark.parametrize("password", [None, ""])
def test_without_a_password_there_is_a_code_and_nothing_is_open(password):
    g = gate(password)
    assert g.generated and re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", g.code)
    for attempt in ["", "anything", "secret"]:
        assert not g.check(attempt, Attempts()).ok
    assert g.check(g.code, Attempts()).ok


def test_made_codes_differ_and_avoid_look_alike_characters():
    codes = {make_code() for _ in range(200)}
    assert len(codes) == 200
    assert not set("".join(codes)) - set(CODE_ALPHABET + "-")
    assert not set("01OIL") & set(CODE_ALPHABET)


def test_a_code_read_off_a_screen_forgives_case_spaces_and_dashes():
    g = gate(None)
    typed = g.code.lower().replace("-", " ")
    assert g.check(typed, Attempts()).ok
    assert g.check(g.code.replace("-", ""), Attempts()).ok


@pytest.mark.parametrize("attempt", ["", "Secret", "secret ", "secre", "secret2", "sécret"])
def test_a_configured_password_must_match_exactly(attempt):
    g = gate("secret")
    assert not g.generated and g.code is None
    answer = g.check(attempt, Attempts())
    assert not answer.ok and answer.reason == "wrong"
    assert g.check("secret", Attempts()).ok


def test_wrong_attempts_double_the_wait_of_that_session_only():
    time = FakeTime()
    g = gate(time=time, checks_per_second=1e9)
    student, teacher = Attempts(), Attempts()
    for wait in [1.0, 2.0, 4.0, 8.0]:
        assert not g.check("guess", student).ok
        time.now += wait * 0.99
        assert g.check("secret", student).reason == "wait"     # too early for this session...
        assert g.check("secret", teacher).ok                    # ...while the teacher gets in at once
        time.now += wait * 0.01


def test_the_sessions_wait_stops_growing_at_a_minute_and_the_right_password_resets_it():
    time = FakeTime()
    g = gate(time=time, checks_per_second=1e9)
    mine = Attempts()
    for _ in range(12):
        g.check("guess", mine)
        time.now += MAX_WAIT_SECONDS
    g.check("guess", mine)
    time.now += MAX_WAIT_SECONDS - 0.5
    assert not g.check("secret", mine).ok
    time.now += 0.5
    assert g.check("secret", mine).ok
    assert (mine.failures, mine.next_allowed) == (0, 0.0)


def test_a_student_typing_wrong_passwords_every_half_second_never_keeps_the_teacher_out():
    """The reported lock-out: one object for the whole server that never decayed."""
    time = FakeTime()
    g = gate(time=time)
    student = Attempts()
    for _ in range(1200):                       # ten minutes of it
        g.check("guess", student)
        time.now += 0.5
    answer = g.check("secret", Attempts())      # the teacher, from her own page
    assert answer.ok
    assert sum(time.slept) < 1.0                # at most a moment's pacing


def test_many_sessions_guessing_at_once_are_paced_server_wide():
    """New sessions (a reload each) escape their own wait; the server-wide pace still holds
    them to a few checks a second, and the right password is never refused, only paced."""
    time = FakeTime()
    g = gate(time=time, checks_per_second=4)
    start = time.now
    for _ in range(40):                         # forty fresh sessions, one guess each, at once
        assert not g.check("guess", Attempts()).ok
    assert time.now - start >= 39 / 4           # they took ten seconds, not an instant
    assert g.check("secret", Attempts()).ok


def test_checks_from_threads_take_distinct_server_wide_slots():
    slots: list[float] = []
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            slots.append(seconds)

    g = InstructorGate("secret", clock=lambda: 0.0, sleep=sleep, checks_per_second=10)
    threads = [threading.Thread(target=g.check, args=("guess", Attempts())) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(round(s, 6) for s in slots) == [round(k / 10, 6) for k in range(1, 20)]


def test_the_announcement_has_the_code_and_a_ready_link():
    text = announcement("K7QF-M2XR-9HTD", "http://192.0.2.7:8501/")
    assert "K7QF-M2XR-9HTD" in text
    assert "http://192.0.2.7:8501/?instructor=K7QF-M2XR-9HTD" in text
