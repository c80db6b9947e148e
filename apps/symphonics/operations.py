"""The outbox handlers: create an intervention at Symphonics once, add documents.

An intervention is never created twice. Symphonics de-duplicates creates by
our external_id (a second one answers 409 CONFLICT, naming the existing
intervention), and a create whose answer was lost (read timeout, 5xx after
sending) is reconciled before anything is sent again: the next run looks
the external_id up and adopts what it finds.

Retries: each call retries 429 and 5xx itself at most 5 times (the
contract's rule, in `client.py`); a run that still fails counts one failure
of the operation, which is dead after SYMPHONICS_RETRY.max_failures of them
and waits for a manager ("publish" again, or "retry now" on the operation).
While the circuit is open a run fails at once without calling Symphonics,
and its next run is not due before the cool-down ends.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_noop

from apps.core.http import PermanentError, PlatformError
from apps.core.models import OutboundOperation
from apps.core.operations import Done, OutboxRetryPolicy, Reschedule, operation_handler
from apps.symphonics.client import InterventionExists, SymphonicsClient, symphonics_client
from apps.symphonics.mapping import documents_update_payload
from apps.symphonics.models import Intervention, InterventionDocument, InterventionStatusChange
from apps.symphonics.selectors import intervention_create_payload
from apps.symphonics.services import (
    ATTENTION_DOCUMENTS_REFUSED,
    DOCUMENTS_OPERATION,
    PUBLISH_OPERATION,
    documents_mark_sent,
    intervention_error_note,
    intervention_log,
    intervention_publication_refused,
    intervention_remote_apply,
)

Source = InterventionStatusChange.Source

SYMPHONICS_RETRY = OutboxRetryPolicy(
    # A minute, doubling to half an hour between runs: each run has already
    # retried within itself, so the next one waits for the platform to recover.
    base_delay=60.0,
    max_delay=1800.0,
    # Dead after five failed runs in a row: 7 to 15 minutes of failures.
    max_failures=5,
)
# Documents added while the create is on its way wait for it this long between looks.
WAIT_FOR_PUBLICATION = timedelta(seconds=30)


@operation_handler(PUBLISH_OPERATION)
def intervention_publish_send(operation: OutboundOperation, *, reconcile: bool) -> Done:
    intervention = Intervention.objects.filter(pk=operation.payload["intervention_id"]).first()
    if intervention is None:
        return Done({"skipped": "the intervention was deleted"})
    if intervention.symphonics_id:
        return Done({"symphonics_id": intervention.symphonics_id})
    client = symphonics_client(operation.connection)
    if reconcile:
        found = client.find_intervention(
            intervention.external_id,
            log=intervention_log(intervention, "intervention.reconcile", operation.pk))
        if found is not None:
            intervention_remote_apply(
                intervention=intervention, remote=found, source=Source.PUBLISH,
                notes=gettext_noop("Found at Symphonics after an unanswered create; not sent "
                                   "again."))
            return Done({"symphonics_id": found.symphonics_id, "adopted": True})

    payload, document_ids = intervention_create_payload(intervention)
    try:
        created = client.create_intervention(
            payload, log=intervention_log(intervention, "intervention.create", operation.pk))
    except InterventionExists as exc:
        return _adopt_existing(intervention, client, exc, operation)
    except PermanentError as exc:
        intervention_publication_refused(intervention=intervention, error=exc)
        raise
    except PlatformError as exc:
        intervention_error_note(intervention=intervention, error=str(exc))
        raise
    intervention_remote_apply(intervention=intervention, remote=created, source=Source.PUBLISH,
                              notes=gettext_noop("Created at Symphonics."),
                              sent_document_ids=document_ids)
    return Done({"symphonics_id": created.symphonics_id})


def _adopt_existing(intervention: Intervention, client: SymphonicsClient,
                    conflict: InterventionExists, operation: OutboundOperation) -> Done:
    """409 CONFLICT: our earlier create went through. Fetch it; never create again."""
    log = intervention_log(intervention, "intervention.reconcile", operation.pk)
    if conflict.existing_id:
        remote = client.get_intervention(conflict.existing_id, log=log)
    else:
        remote = client.find_intervention(intervention.external_id, log=log)
    if remote is None or remote.external_id not in ("", intervention.external_id):
        # A conflict about something else: a person must look at it.
        intervention_publication_refused(intervention=intervention, error=conflict)
        raise conflict
    intervention_remote_apply(
        intervention=intervention, remote=remote, source=Source.PUBLISH,
        notes=gettext_noop("Already at Symphonics (409 CONFLICT on create); adopted, not "
                           "created again."))
    return Done({"symphonics_id": remote.symphonics_id, "adopted": True})


@operation_handler(DOCUMENTS_OPERATION)
def intervention_documents_send(operation: OutboundOperation, *, reconcile: bool
                                ) -> Done | Reschedule:
    intervention = Intervention.objects.filter(pk=operation.payload["intervention_id"]).first()
    if intervention is None:
        return Done({"skipped": "the intervention was deleted"})
    # The create may have carried them already.
    documents = list(InterventionDocument.objects.filter(
        intervention=intervention, pk__in=operation.payload["document_ids"],
        sent_at__isnull=True).order_by("pk"))
    if not documents:
        return Done({"sent": 0})
    if not intervention.symphonics_id:
        if intervention.status == Intervention.Status.PUBLISHING:
            return Reschedule(timezone.now() + WAIT_FOR_PUBLICATION,
                              "waiting for Symphonics to have the intervention")
        return Done({"sent": 0, "note": "not published; they go with the publication"})
    client = symphonics_client(operation.connection)
    if reconcile:
        documents = _not_yet_received(intervention, documents, client, operation)
        if not documents:
            return Done({"sent": 0, "note": "Symphonics had them already"})
    try:
        client.add_documents(
            intervention.symphonics_id, documents_update_payload(documents),
            log=intervention_log(intervention, "intervention.add_documents", operation.pk))
    except PermanentError as exc:
        intervention_error_note(
            intervention=intervention, error=str(exc),
            attention=gettext_noop("Documents refused by Symphonics: %(error)s"),
            attention_values={"error": exc.error.message or str(exc)},
            attention_kind=ATTENTION_DOCUMENTS_REFUSED)
        raise
    documents_mark_sent(documents=documents)
    return Done({"sent": len(documents)})


def _not_yet_received(intervention: Intervention, documents: list[InterventionDocument],
                      client: SymphonicsClient, operation: OutboundOperation
                      ) -> list[InterventionDocument]:
    """After a PATCH whose answer was lost: drop what Symphonics lists already.

    Symphonics only lists documents in a status read as an extension of the
    contract; without the list, all are sent again (a duplicate document is
    harmless, a missing proof is not).
    """
    remote = client.get_intervention(
        intervention.symphonics_id,
        log=intervention_log(intervention, "intervention.reconcile", operation.pk))
    if remote.documents is None:
        return documents
    known = {document.url for document in remote.documents}
    received = [document for document in documents if document.url in known]
    documents_mark_sent(documents=received)
    return [document for document in documents if document.url not in known]
