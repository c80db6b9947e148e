"""A throwaway outbox handler whose outcomes each test scripts.

`script[idempotency_key]` lists what successive runs return (Done,
Reschedule), raise (an exception instance) or do (a callable taking the
operation and returning an outcome); the last one repeats. `runs` records
each run as (idempotency_key, reconcile).

The same handler is registered under three kinds: `test.scripted` (the
platform's retry policy), `test.scheduled` (its own retry schedule, RestoSync's
delays without jitter) and `test.superseding` (a newer operation of an entity
retires its older pending ones).
"""

from __future__ import annotations

from apps.core.operations import Done, RetrySchedule, operation_handler

# 1 min, 5 min, 30 min, 2 h, 8 h, then dead.
SCHEDULE = RetrySchedule(delays=(60, 300, 1800, 7200, 28800), jitter=0)

script: dict[str, list] = {}
runs: list[tuple[str, bool]] = []


@operation_handler("test.scripted")
@operation_handler("test.scheduled", retry_schedule=SCHEDULE)
@operation_handler("test.superseding", supersedes=True)
def scripted(operation, *, reconcile: bool):
    runs.append((operation.idempotency_key, reconcile))
    outcomes = script.get(operation.idempotency_key) or [Done({"ok": True})]
    outcome = outcomes.pop(0) if len(outcomes) > 1 else outcomes[0]
    if isinstance(outcome, BaseException):
        raise outcome
    if callable(outcome):
        return outcome(operation)
    return outcome
