"""The outbox handlers: a BS's status and payment sent to MY TUNICLAIM.

Each operation carries the request decided by `apps.tuniclaim.services`
(the platform's batch id for the URL and the body), so it sends exactly
what the manager decided, whatever happened to the BS since: the BS's later
pushes follow it in order (the outbox runs one operation per BS at a time).

Failures are never swallowed. Each call is retried by the core client
(3 retries with backoff on 408/429/5xx and network errors); a call that still
fails counts one failure of the operation, which runs again on PUSH_RETRY
and is dead after its last delay. A refusal (4xx other than 408/429) is
dead at once: sending the same request again would be refused again. A
dead push raises the core's `outbox.dead` attention item, which names the
push, its BS (the operation's object) and the platform's message, and holds
the BS's later pushes back until a manager retries it or marks it resolved.
No item of our own is raised: it would say the same thing twice.

Both PUTs set a state: MY TUNICLAIM answers the same request a second time
as it did the first (it records it once, as a repeat). An operation whose
outcome is unknown (a worker died mid-call) is therefore reconciled by
sending it again; there is no read to check it with first.
"""

from __future__ import annotations

from typing import Any

from apps.core.models import OutboundOperation
from apps.core.operations import Done, RetrySchedule, operation_handler
from apps.tuniclaim.client import tuniclaim_client
from apps.tuniclaim.services import PUSH_PAYMENT, PUSH_STATUS

# 1 min, 5 min, 30 min, 2 h, 8 h, then dead: a short outage passes unseen, a
# long one reaches a manager within the working day.
PUSH_RETRY = RetrySchedule(delays=(60, 300, 1800, 7200, 28800))


def _sent(operation: OutboundOperation, answer: Any) -> Done:
    # What was sent, not the platform's answer: its answer is the whole BS,
    # with the insured's name, and the outbox's JSON column is not encrypted.
    body = operation.payload["body"]
    return Done({"bordereau": operation.payload["bordereau_external_id"],
                 "bs": body.get("bsId"),
                 "sent": {key: body.get(key) for key in ("newStatus", "paymentStatus")
                          if key in body},
                 "answered": isinstance(answer, dict)})


@operation_handler(PUSH_STATUS, retry_schedule=PUSH_RETRY)
def bs_status_send(operation: OutboundOperation, *, reconcile: bool) -> Done:
    answer = tuniclaim_client(operation.connection).put_status(
        bordereau_external_id=operation.payload["bordereau_external_id"],
        body=operation.payload["body"])
    return _sent(operation, answer)


@operation_handler(PUSH_PAYMENT, retry_schedule=PUSH_RETRY)
def bs_payment_send(operation: OutboundOperation, *, reconcile: bool) -> Done:
    answer = tuniclaim_client(operation.connection).put_payment(
        bordereau_external_id=operation.payload["bordereau_external_id"],
        body=operation.payload["body"])
    return _sent(operation, answer)
