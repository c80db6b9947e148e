"""A throwaway outbox handler whose outcomes each test scripts.

`script[idempotency_key]` lists what successive runs return (Done,
Reschedule), raise (an exception instance) or do (a callable taking the
operation and returning an outcome); the last one repeats. `runs` records
each run as (idempotency_key, reconcile).
"""

from __future__ import annotations

from apps.core.operations import Done, operation_handler

script: dict[str, list] = {}
runs: list[tuple[str, bool]] = []


@operation_handler("test.scripted")
def scripted(operation, *, reconcile: bool):
    runs.append((operation.idempotency_key, reconcile))
    outcomes = script.get(operation.idempotency_key) or [Done({"ok": True})]
    outcome = outcomes.pop(0) if len(outcomes) > 1 else outcomes[0]
    if isinstance(outcome, BaseException):
        raise outcome
    if callable(outcome):
        return outcome(operation)
    return outcome
