"""The integrations domain's outbox handlers (registered by apps.py's handler_modules)."""

from __future__ import annotations

from apps.core.models import OutboundOperation
from apps.core.operations import Done, RetrySchedule, operation_handler
from apps.integrations.calendar_sync import PUSH_KIND, calendar_push_event
from apps.integrations.models import Event, Integration


# A minute, five, half an hour, two hours, six: a calendar that refuses for
# longer than a working day needs a manager (the connection is likely broken).
@operation_handler(PUSH_KIND, retry_schedule=RetrySchedule(delays=(60, 300, 1800, 7200, 21600)))
def calendar_push(operation: OutboundOperation, *, reconcile: bool) -> Done:
    """Push one event to one calendar, as the event is now (not as it was at enqueue).

    A reconcile needs nothing special: the create uses the event's
    client-set id, so a create that did reach the provider is found there.
    """
    integration = Integration.objects.select_related("connection").filter(
        pk=operation.payload.get("integration")).first()
    if integration is None:
        return Done({"skipped": "integration deleted"})
    event = Event.objects.filter(pk=operation.entity_id).first()
    if event is None:
        return Done({"skipped": "event deleted"})
    return Done(calendar_push_event(integration=integration, event=event))
