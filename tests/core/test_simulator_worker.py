"""The simulators' background worker: started once, steps on a tick, survives a
failing step, stops on close."""

from __future__ import annotations

import threading

from apps.core.simulator_kit.worker import BackgroundWorker
from tests.helpers import wait_for


def test_it_steps_until_closed_and_a_failing_step_does_not_stop_it(caplog):
    steps: list[int] = []
    stepped = threading.Event()

    def step() -> None:
        steps.append(len(steps))
        if len(steps) == 1:
            raise RuntimeError("the receiver is down")
        stepped.set()

    worker = BackgroundWorker(step, name="sim-test", tick=0.001)
    worker.start()
    worker.start()  # a second start is the same thread

    wait_for(stepped.is_set, timeout=5, what="a second step")
    worker.close()
    done = len(steps)

    assert "a step failed" in caplog.text
    assert [t.name for t in threading.enumerate()].count("sim-test") == 0
    assert len(steps) == done  # nothing after close
