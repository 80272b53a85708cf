"""The teacher's controls over the class's queue, enforced on the server: the whole queue
with owners, places and estimates; cancelling anyone's training; pausing students'
trainings (the instructor's still run); a per-student budget from the measured speed,
refused with what would fit. The training process is replaced by a quick stand-in, so
these test the queue's rules, not TensorFlow (tests/test_queue.py trains for real)."""
from __future__ import annotations

import threading
import time

import pytest

import classroom.queue
from classroom.estimate import PRIORS, Sample, Speed, images_per_epoch
from classroom.queue import PAUSED, JobState, TrainingQueue, TrainingRefused
from classroom.job import Began, Epoch, Finished, Ready
from model.config import ARCHITECTURES, LESSON, PRESETS, TrainConfig
from ui.i18n import say

TIMEOUT = 10.0


class StandIn:
    """Plays the training process: each job 'trains' an epoch per `tick` of the test's gate."""

    def __init__(self, load_data=None, record_as=None):
        self.inbox: list = []
        self.outbox: list = []
        self.cancelled: set[str] = set()
        self.started: list[str] = []
        self.release = threading.Event()
        self.release.set()
        self.pid = 4242

    def send(self, job):
        self.started.append(job.id)
        self.outbox += [Began(job.id, 60000, 60000)]
        self._job = job

    def receive(self, timeout):
        if self.outbox:
            return self.outbox.pop(0)
        job = self._job
        if not self.release.wait(timeout):
            return None
        if job.id in self.cancelled:
            self.outbox += [Finished(job.id, JobState.CANCELLED, "Cancelled."), Ready(job.id)]
        else:
            self.outbox += [Epoch(job.id, e + 1, {"loss": 0.5}, 0.01) for e in range(job.config.epochs)]
            self.outbox += [Finished(job.id, JobState.DONE, "Done.", None, {}), Ready(job.id)]
        return self.outbox.pop(0)

    def cancel(self, job_id):
        self.cancelled.add(job_id)

    def close(self):
        pass


@pytest.fixture
def queue(monkeypatch):
    monkeypatch.setattr(classroom.queue, "TrainingProcess", StandIn)
    q = TrainingQueue(model_path=lambda: None)
    yield q
    q._process.release.set()
    q.close()


def wait_for(check, what: str):
    deadline = time.monotonic() + TIMEOUT
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {TIMEOUT:.0f} s: {what}")
        time.sleep(0.005)


HUGE = TrainConfig(epochs=100, batch_size=1)


def test_a_student_training_over_the_budget_is_refused_with_what_would_fit(queue):
    queue.set_budget(60)
    estimate = queue.speed.training_seconds(HUGE)
    assert estimate > 60
    with pytest.raises(TrainingRefused) as refused:
        queue.submit(HUGE, "student")
    message = say(refused.value.note, "en")       # as the page says it
    assert f"about {estimate:,.0f} s" in message and "60 s" in message
    epochs = int(60 // queue.speed.epoch_seconds(HUGE))
    batch = queue.speed.smallest_batch(HUGE, 60)
    assert f"{epochs} epochs at batch size 1" in message and f"100 epochs at batch size {batch} or more" in message
    assert queue.speed.training_seconds(HUGE.replace(batch_size=batch)) <= 60     # what it offers fits...
    assert queue.speed.training_seconds(HUGE.replace(batch_size=batch - 1)) > 60  # ...and is the least
    assert queue.speed.training_seconds(HUGE.replace(epochs=epochs)) <= 60
    assert queue.queue_length() == 0 and queue.refusal(HUGE) == refused.value.note


def test_the_lesson_fits_the_default_budget_and_the_instructor_has_none(queue):
    assert queue.budget_seconds == 60 and queue.refusal(LESSON) is None
    queue._process.release.clear()                       # both stay in the queue while the test looks
    queue.submit(LESSON, "student")
    queue.submit(HUGE, "teacher", instructor=True)
    assert queue.queue_length() == 2


def test_the_budget_follows_the_measured_speed():
    slow = Speed([Sample(60000, 100, 5, 600.0), Sample(60000, 10, 1, 130.0)])   # a slow machine
    fast = Speed([Sample(60000, 100, 5, 1.0), Sample(60000, 10, 1, 0.5)])
    assert slow.training_seconds(LESSON) == pytest.approx(600, rel=0.05)
    assert fast.training_seconds(LESSON) == pytest.approx(1.0, rel=0.05)
    assert slow.training_seconds(LESSON) > 60 > fast.training_seconds(LESSON)


def test_the_speed_model_recovers_per_image_and_per_step_costs():
    per_image, per_step = 5e-6, 4e-5
    samples = [Sample(n, b, e, e * (per_image * n + per_step * -(-n // b)))
               for n, b, e in [(60000, 100, 5), (60000, 1, 1), (60000, 32, 3), (79000, 1000, 10)]]
    speed = Speed(samples)
    assert speed.rates["softmax"].per_image == pytest.approx(per_image, rel=1e-3)
    assert speed.rates["softmax"].per_step == pytest.approx(per_step, rel=1e-3)


def test_recorded_runs_give_the_first_estimates():
    class Run:
        def __init__(self, config, fit_seconds):
            self.config, self.fit_seconds = config, fit_seconds
    speed = Speed.from_runs([Run(LESSON, 50.0), Run(LESSON.replace(epochs=10), 100.0), Run(LESSON, None)])
    assert speed.training_seconds(LESSON) == pytest.approx(50.0, rel=0.01)
    assert images_per_epoch(LESSON.replace(styles=True)) > images_per_epoch(LESSON)


# -- the estimate per architecture -------------------------------------------------------------
CNN = LESSON.replace(architecture="cnn")            # 32 filters, the lesson's 5 epochs at batch 100
MLP = LESSON.replace(architecture="mlp")


def test_every_architecture_has_a_measured_prior_and_a_cnn_costs_far_more():
    assert set(PRIORS) == set(ARCHITECTURES)
    speed = Speed()
    assert speed.epoch_seconds(CNN) > 15 * speed.epoch_seconds(LESSON)
    assert 5 < speed.epoch_seconds(CNN) < 20           # one epoch of 32 filters: about 11 s on 2 cores
    assert speed.epoch_seconds(CNN.replace(filters=8)) < speed.epoch_seconds(CNN) / 2
    assert speed.epoch_seconds(MLP.replace(hidden_units=512)) > speed.epoch_seconds(MLP)


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_fits_a_students_default_budget(name):
    assert Speed().training_seconds(PRESETS[name]) <= classroom.queue.BUDGET_SECONDS


def test_an_over_budget_cnn_is_refused_with_fewer_epochs_or_fewer_filters(queue):
    config = CNN.replace(epochs=20)
    estimate = queue.speed.training_seconds(config)
    assert estimate > 60 and queue.speed.training_seconds(LESSON.replace(epochs=20)) < 60
    with pytest.raises(TrainingRefused) as refused:
        queue.submit(config, "student")
    message = say(refused.value.note, "en")
    epochs = queue.speed.most_epochs(config, 60)
    filters = queue.speed.most_filters(config, 60)
    assert f"about {estimate:,.0f} s" in message
    assert f"{epochs} epochs at batch size 100" in message and f"20 epochs with {filters} filters or fewer" in message
    assert queue.speed.training_seconds(config.replace(filters=filters)) <= 60 \
        < queue.speed.training_seconds(config.replace(filters=filters + 1))
    assert "filters" not in say(queue.refusal(HUGE), "en")            # a softmax has none to offer
    assert queue.queue_length() == 0


def test_each_architecture_learns_from_its_own_runs():
    class Run:
        def __init__(self, config, fit_seconds):
            self.config, self.fit_seconds = config, fit_seconds
    prior = Speed()
    slow_cnn = Speed.from_runs([Run(CNN.replace(epochs=1), 40.0), Run(CNN.replace(epochs=2, filters=16), 30.0)])
    assert slow_cnn.training_seconds(CNN.replace(epochs=1)) == pytest.approx(40.0, rel=0.15)
    assert slow_cnn.training_seconds(LESSON) == prior.training_seconds(LESSON)     # the softmax's stay
    assert slow_cnn.training_seconds(MLP) == prior.training_seconds(MLP)
    # Epochs reported by the training process refit only their own architecture's rates.
    slow_cnn.add(Sample.of(LESSON, 60000, 1, 5.0))
    assert slow_cnn.training_seconds(LESSON) == pytest.approx(25.0, rel=0.01)
    assert slow_cnn.training_seconds(CNN.replace(epochs=1)) == pytest.approx(40.0, rel=0.15)


def test_while_paused_students_are_refused_and_their_queued_trainings_wait(queue):
    queue._process.release.clear()                       # the first training runs until released
    running = queue.submit(LESSON, "alice")
    waiting = queue.submit(LESSON, "bob")
    wait_for(lambda: queue.status(running).state == JobState.TRAINING, "the first training starts")
    queue.pause(True)
    with pytest.raises(TrainingRefused, match="paused"):
        queue.submit(LESSON, "carol")
    assert queue.refusal(LESSON) == PAUSED
    teacher = queue.submit(HUGE, "teacher", instructor=True)   # the instructor's is neither paused nor budgeted
    queue._process.release.set()
    wait_for(lambda: queue.status(teacher).state == JobState.DONE, "the instructor's training runs")
    assert queue.status(waiting).state == JobState.QUEUED     # bob's waits while paused...
    assert queue._process.started == [running, teacher]
    queue.pause(False)
    wait_for(lambda: queue.status(waiting).state == JobState.DONE, "bob's training runs once resumed")


def test_the_instructor_sees_every_training_with_owner_place_and_estimate_and_cancels_any(queue):
    queue._process.release.clear()
    ids = [queue.submit(LESSON.replace(epochs=e), owner) for e, owner in [(1, "alice"), (2, "bob"), (3, "carol")]]
    wait_for(lambda: queue.status(ids[0]).state == JobState.TRAINING, "the first training starts")
    jobs = queue.jobs()
    assert [j.id for j in jobs] == ids
    assert [j.owner for j in jobs] == ["alice", "bob", "carol"]
    assert [j.position for j in jobs] == [0, 1, 2]
    assert [j.config.epochs for j in jobs] == [1, 2, 3]
    assert all(j.eta_seconds > 0 for j in jobs) and jobs[2].eta_seconds > jobs[1].eta_seconds
    assert queue.cancel(ids[1])                                   # someone else's queued training
    assert queue.status(ids[1]).state == JobState.CANCELLED
    assert queue.cancel(ids[0])                                   # and the running one
    queue._process.release.set()
    wait_for(lambda: queue.status(ids[0]).state == JobState.CANCELLED, "the running training stops")
    wait_for(lambda: queue.status(ids[2]).state == JobState.DONE, "the last one runs")
    assert queue.jobs() == []
