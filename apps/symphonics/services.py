"""What the API, the admin, the webhooks and the poll do with interventions.

Anything that changes Symphonics (a create, documents added) is recorded
here as an outbox operation in the same transaction as the change; the
handlers in `apps.symphonics.operations` send it. Only reads a person waits
for (validation, "refresh status") call Symphonics from here, and never
inside a transaction.

Statuses reach us three ways: the answer to a create, webhooks, and status
reads (poll or refresh). Webhooks may come late, twice, or out of order, so
every status carries the time it happened at Symphonics and an older one
never overwrites a newer one; it is kept in the history for the record.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from apps.core.attention import attention_clear, attention_raise
from apps.core.audit import LogContext
from apps.core.errors import ServiceError
from apps.core.http import PermanentError, PlatformError
from apps.core.models import OutboundOperation, WebhookEvent
from apps.core.operations import operation_enqueue, operation_reopen, operation_retry_now
from apps.symphonics.client import PLATFORM, symphonics_client
from apps.symphonics.mapping import (
    STATUS_RANK,
    DocumentEvent,
    PdlCheck,
    PdlMatch,
    RemoteDocument,
    RemoteIntervention,
    StatusEvent,
    UserCheck,
    intervention_payload,
    status_from_remote,
    verification_from_remote,
)
from apps.symphonics.models import (
    Intervention,
    InterventionDocument,
    InterventionEquipment,
    InterventionPhoto,
    InterventionService,
    InterventionStatusChange,
)
from apps.symphonics.selectors import ENTITY_TYPE, intervention_publication_problems
from apps.symphonics.validators import (
    EMAIL_MESSAGE,
    PDL_MESSAGE,
    PDL_RE,
    POSTAL_CODE_MESSAGE,
    POSTAL_CODE_RE,
    Problems,
    intervention_problems,
    is_email,
    normalise_identifier,
    problems_summary,
)

logger = logging.getLogger(__name__)

PUBLISH_OPERATION = "symphonics.intervention.publish"
DOCUMENTS_OPERATION = "symphonics.intervention.add_documents"
Status = Intervention.Status
Verification = InterventionDocument.Verification
Source = InterventionStatusChange.Source

ATTENTION_DOMAIN = "symphonics"
# Why an intervention is in the attention queue; one open item per intervention and kind.
ATTENTION_PUBLISH_FAILED = "symphonics.publish_failed"
ATTENTION_PROOF_REQUIRED = "symphonics.proof_required"
ATTENTION_REJECTED = "symphonics.rejected"
ATTENTION_UNKNOWN_STATUS = "symphonics.unknown_status"
ATTENTION_DOCUMENT_REJECTED = "symphonics.document_rejected"
ATTENTION_DOCUMENTS_REFUSED = "symphonics.documents_refused"
ATTENTION_UNKNOWN_REMOTE = "symphonics.unknown_remote"
# Raised by a status Symphonics reports: a later status replaces what an earlier one said.
STATUS_ATTENTION_KINDS = (ATTENTION_PROOF_REQUIRED, ATTENTION_REJECTED, ATTENTION_UNKNOWN_STATUS)
ATTENTION_HINTS = {
    ATTENTION_PUBLISH_FAILED: _("Correct the intervention as the error says, then publish it "
                                "again."),
    ATTENTION_PROOF_REQUIRED: _("Add the proof Symphonics asks for (\"Add a proof "
                                "document\")."),
    ATTENTION_REJECTED: _("Read Symphonics' notes; contact Symphonics if the rejection is "
                          "wrong."),
    ATTENTION_UNKNOWN_STATUS: _("Symphonics reported a status the hub does not know; check it "
                                "with them."),
    ATTENTION_DOCUMENT_REJECTED: _("Replace the rejected document (\"Add a proof "
                                   "document\")."),
    ATTENTION_DOCUMENTS_REFUSED: _("Correct the documents' names or addresses, then add them "
                                   "again."),
    ATTENTION_UNKNOWN_REMOTE: _("Publish it again, or ask Symphonics what became of it."),
}


def intervention_log(intervention: Intervention, action: str,
                     operation_id: int | None = None) -> LogContext:
    """Audit-trail context: the customer's e-mail and phone never reach the logs."""
    return LogContext(
        action=action,
        entity_type=ENTITY_TYPE,
        entity_id=intervention.external_id,
        operation_id=operation_id,
        secrets=(intervention.customer_email, intervention.customer_phone),
    )


def _locked(intervention: Intervention) -> Intervention:
    # One writer per intervention at a time: a webhook, a poll and a manager
    # may all touch it at once.
    return Intervention.objects.select_for_update().get(pk=intervention.pk)


def _locked_by_remote(*, external_id: str, symphonics_id: str) -> Intervention | None:
    # Our id first: a webhook may arrive before the create's answer was saved.
    locking = Intervention.objects.select_for_update()
    found = locking.filter(external_id=external_id).first() if external_id else None
    if found is None and symphonics_id:
        found = locking.filter(symphonics_id=symphonics_id).first()
    return found


def _flag(intervention: Intervention, kind: str, reason: str, values: dict | None = None
          ) -> None:
    # `reason` is an English source text, translated when read (apps.core.attention).
    attention_raise(domain=ATTENTION_DOMAIN, kind=kind, summary=reason, subject=intervention,
                    action_hint=ATTENTION_HINTS.get(kind, ""), values=values)


def _unflag(intervention: Intervention, *, kinds: tuple[str, ...] = ()) -> None:
    attention_clear(subject=intervention, kinds=kinds, domain=ATTENTION_DOMAIN)


def _flag_status(intervention: Intervention, kind: str, reason: str, values: dict) -> None:
    _unflag(intervention, kinds=tuple(k for k in STATUS_ATTENTION_KINDS if k != kind))
    _flag(intervention, kind, reason, values)


def _state_error(intervention: Intervention, action: str) -> ServiceError:
    """A 409 named after the state that forbids `action` (`intervention_approved`…),
    so a client tells a decided intervention from a bad request without the message."""
    message = str(_("An intervention that is %(status)s cannot be %(action)s.") % {
        "status": intervention.get_status_display().lower(), "action": action})
    return ServiceError(f"intervention_{intervention.status}", message,
                        details={"status": [intervention.status]}, status=409)


def _validation_error(problems: dict[str, list[str]]) -> ServiceError:
    return ServiceError(
        "validation_error",
        gettext("The intervention cannot be sent to Symphonics: %(problems)s")
        % {"problems": problems_summary(problems)},
        details=problems,
    )


# -- recording and publishing ----------------------------------------------------

@transaction.atomic
def intervention_create(
    *,
    customer_first_name: str,
    customer_last_name: str,
    customer_email: str,
    customer_phone: str,
    address: str,
    postal_code: str,
    city: str,
    pdl: str,
    installer_user_id: str,
    installer_name: str,
    completion_date: datetime,
    services: list[dict[str, Any]],
    documents: list[dict[str, Any]],
    photos: list[dict[str, Any]],
    equipment: list[dict[str, Any]] | None = None,
    pce: str = "",
    installer_company_id: str = "",
    external_id: str = "",
    publish: bool | None = None,
) -> Intervention:
    """Record a completed intervention, checked as Symphonics would check it.

    Nothing is stored unless it could be sent as is. It is then published
    at once unless `publish` (default: SYMPHONICS_PUBLISH_ON_COMPLETION) says
    a manager will do it.
    """
    if external_id and Intervention.objects.filter(external_id=external_id).exists():
        raise ServiceError(
            "conflict", gettext("An intervention with external id %(id)s exists.")
            % {"id": external_id}, details={"external_id": [gettext("Already used.")]},
            status=409)
    intervention = Intervention(
        external_id=external_id or f"int_{uuid.uuid4().hex[:16]}",
        customer_first_name=customer_first_name, customer_last_name=customer_last_name,
        customer_email=customer_email.strip(), customer_phone=customer_phone.strip(),
        address=address, postal_code=postal_code.strip(), city=city,
        pdl=normalise_identifier(pdl), pce=normalise_identifier(pce),
        installer_user_id=installer_user_id, installer_company_id=installer_company_id,
        installer_name=installer_name, completion_date=completion_date,
    )
    children = {
        "services": [InterventionService(intervention=intervention, **s) for s in services],
        "equipment": [InterventionEquipment(intervention=intervention, **e)
                      for e in equipment or []],
        "documents": [InterventionDocument(intervention=intervention, **d) for d in documents],
        "photos": [InterventionPhoto(intervention=intervention, **p) for p in photos],
    }
    # Checked on the very payload that would be sent, before anything is saved.
    problems = intervention_problems(intervention_payload(intervention, **children))
    if problems:
        raise _validation_error(problems)
    intervention.save()
    for model, rows in zip((InterventionService, InterventionEquipment, InterventionDocument,
                            InterventionPhoto), children.values(), strict=True):
        model.objects.bulk_create(rows)
    if settings.SYMPHONICS_PUBLISH_ON_COMPLETION if publish is None else publish:
        _publish(intervention)
    return intervention


@transaction.atomic
def intervention_publish(*, intervention: Intervention) -> Intervention:
    """A manager's "publish": create it at Symphonics, once.

    Already published and not decided yet: nothing happens. Decided by
    Symphonics (approved, rejected): refused, 409. Refused before (bad data,
    since corrected): the same outbox operation is sent again.
    """
    intervention = _locked(intervention)
    if intervention.is_final:
        raise _state_error(intervention, str(_("published again")))
    _publish(intervention)
    return intervention


def _publish(intervention: Intervention) -> None:
    if intervention.symphonics_id or intervention.status not in (
            Status.READY, Status.PUBLISH_FAILED, Status.PUBLISHING):
        return
    problems = intervention_publication_problems(intervention)
    if problems:
        raise _validation_error(problems)
    operation = intervention.publish_operation
    if operation is None:
        operation, _ = operation_enqueue(
            platform=PLATFORM,
            kind=PUBLISH_OPERATION,
            # The external id is what Symphonics de-duplicates on, so it is ours too.
            idempotency_key=f"symphonics:publish:{intervention.external_id}",
            payload={"intervention_id": intervention.pk},
            entity_type=ENTITY_TYPE,
            entity_id=intervention.external_id,
            connection=intervention.connection,
        )
    elif operation.state == OutboundOperation.State.DEAD:
        operation = operation_retry_now(operation=operation)
    elif operation.state == OutboundOperation.State.SUCCEEDED:
        operation = operation_reopen(operation=operation)
    intervention.publish_operation = operation
    intervention.status = Status.PUBLISHING
    intervention.last_error = ""
    _unflag(intervention)
    intervention.save(update_fields=["publish_operation", "status", "last_error",
                                     "updated_at"])


@transaction.atomic
def intervention_add_documents(*, intervention: Intervention, documents: list[dict[str, Any]]
                               ) -> list[InterventionDocument]:
    """"Add proof": new documents, sent to Symphonics with a PATCH.

    Before Symphonics has the intervention they simply join the create.
    """
    intervention = _locked(intervention)
    if intervention.is_final:
        raise _state_error(intervention, str(_("given more documents")))
    problems = Problems()
    if not documents:
        problems.add("documents", gettext("At least one document is required."))
    for i, document in enumerate(documents):
        problems.text(document, "kind", f"documents[{i}].type")
        problems.text(document, "name", f"documents[{i}].name")
        problems.url(document, "url", f"documents[{i}].url")
    if problems.fields:
        raise _validation_error(problems.fields)
    added = InterventionDocument.objects.bulk_create(
        InterventionDocument(intervention=intervention, **document) for document in documents)
    if intervention.symphonics_id or intervention.status == Status.PUBLISHING:
        _documents_enqueue(intervention, [document.pk for document in added])
    # The manager has answered whatever asked for proof.
    _unflag(intervention)
    intervention.save(update_fields=["updated_at"])
    return added


def _documents_enqueue(intervention: Intervention, document_ids: list[int]) -> None:
    operation_enqueue(
        platform=PLATFORM,
        kind=DOCUMENTS_OPERATION,
        # A document is sent in one batch only, so its id names the batch.
        idempotency_key=f"symphonics:documents:{intervention.external_id}:{document_ids[0]}",
        payload={"intervention_id": intervention.pk, "document_ids": document_ids},
        entity_type=ENTITY_TYPE,
        entity_id=intervention.external_id,
        connection=intervention.connection,
    )


# -- what Symphonics tells us ------------------------------------------------------

def _is_newer(intervention: Intervention, remote_status: str, at: datetime,
              previous: str) -> bool:
    current_at = intervention.remote_status_at
    if current_at is None or at > current_at:
        return True
    if at < current_at or remote_status == intervention.remote_status:
        return False
    # Same second: the direct successor of the current status, or a later
    # stage of the lifecycle, wins.
    return previous == intervention.remote_status or (
        STATUS_RANK[status_from_remote(remote_status)]
        > STATUS_RANK.get(status_from_remote(intervention.remote_status), 0))


def _status_apply(intervention: Intervention, *, remote_status: str, at: datetime,
                  source: str, previous: str = "", notes: str = "",
                  webhook_event: WebhookEvent | None = None) -> bool:
    """Record a reported status; make it current unless a newer one is. Caller saves."""
    applied = _is_newer(intervention, remote_status, at, previous)
    already_recorded = intervention.status_history.filter(
        remote_status=remote_status, occurred_at=at).exists()
    if not already_recorded:
        InterventionStatusChange.objects.create(
            intervention=intervention, remote_status=remote_status,
            status=status_from_remote(remote_status), previous_remote_status=previous,
            notes=notes, source=source, occurred_at=at, applied=applied,
            webhook_event=webhook_event)
    if not applied:
        return False
    intervention.remote_status = remote_status
    intervention.remote_status_at = at
    intervention.status = status_from_remote(remote_status)
    if intervention.status == Status.PROOF_REQUIRED:
        _flag_status(intervention, ATTENTION_PROOF_REQUIRED,
                     gettext_noop("Symphonics asks for additional proof: %(notes)s"),
                     {"notes": notes or _("a document was rejected")})
    elif intervention.status == Status.REJECTED:
        _flag_status(intervention, ATTENTION_REJECTED,
                     gettext_noop("Rejected by Symphonics: %(notes)s"),
                     {"notes": notes or _("no reason given")})
    elif intervention.status == Status.OTHER:
        _flag_status(intervention, ATTENTION_UNKNOWN_STATUS,
                     gettext_noop("Unknown Symphonics status %(status)s; check it with them."),
                     {"status": repr(remote_status)})
    elif intervention.status == Status.APPROVED:
        _unflag(intervention)
    return True


def _verification_apply(intervention: Intervention, document: InterventionDocument, *,
                        remote_status: str, notes: str | None, at: datetime) -> bool:
    """Record a document's verification unless a newer decision is known."""
    if document.verified_at and at < document.verified_at:
        return False
    document.remote_verification_status = remote_status
    document.verification_status = verification_from_remote(remote_status)
    if notes is not None:
        document.verification_notes = notes
    document.verified_at = at
    document.sent_at = document.sent_at or timezone.now()
    document.save(update_fields=["remote_verification_status", "verification_status",
                                 "verification_notes", "verified_at", "sent_at"])
    if document.verification_status == Verification.REJECTED:
        # The kind's label stays lazy: it is translated when the item is read.
        label = dict(InterventionDocument.Kind.choices).get(document.kind, document.kind)
        _flag(intervention, ATTENTION_DOCUMENT_REJECTED,
              gettext_noop("%(document)s rejected by Symphonics: %(notes)s"),
              {"document": label, "notes": notes or _("no reason given")})
    return True


def _documents_sync(intervention: Intervention, remote_documents: list[RemoteDocument],
                    at: datetime) -> None:
    """Documents as a status read lists them, matched by url."""
    local = {document.url: document for document in intervention.documents.all()}
    for remote in remote_documents:
        document = local.get(remote.url)
        if document is None:
            continue
        decided = verification_from_remote(remote.verification_status) != Verification.PENDING
        if decided and remote.verification_status != document.remote_verification_status:
            _verification_apply(intervention, document, remote_status=remote.verification_status,
                                notes=None, at=at)
        elif document.sent_at is None:
            document.sent_at = timezone.now()
            document.save(update_fields=["sent_at"])


@transaction.atomic
def intervention_remote_apply(*, intervention: Intervention, remote: RemoteIntervention,
                              source: str, notes: str = "",
                              sent_document_ids: list[int] | None = None) -> Intervention:
    """Take in what Symphonics answered about the intervention (create, GET).

    `sent_document_ids` are the documents a successful create carried. An
    adopted intervention (its create's answer was lost) is compared with the
    documents Symphonics lists, and those it lacks are sent in an update;
    when it lists none (the contract's GET does not), the lost create is
    taken to have carried them all.
    """
    intervention = _locked(intervention)
    now = timezone.now()
    if remote.symphonics_id and not intervention.symphonics_id:
        intervention.symphonics_id = remote.symphonics_id
        intervention.published_at = now
    intervention.synced_at = now
    intervention.last_error = ""
    if source != Source.PUBLISH or remote.next_steps:
        intervention.next_steps = remote.next_steps
    at = remote.changed_at or now
    if remote.status and remote.status != intervention.remote_status:
        _status_apply(intervention, remote_status=remote.status, at=at, source=source,
                      notes=notes)
    if sent_document_ids is not None:
        intervention.documents.filter(pk__in=sent_document_ids, sent_at__isnull=True).update(
            sent_at=now)
    elif remote.documents is not None:
        _documents_sync(intervention, remote.documents, at)
        if source == Source.PUBLISH:
            # Adopted: what it does not list yet (added since that create) is sent now.
            missing = list(intervention.documents.filter(sent_at__isnull=True)
                           .order_by("pk").values_list("pk", flat=True))
            if missing:
                _documents_enqueue(intervention, missing)
    elif source == Source.PUBLISH:
        intervention.documents.filter(sent_at__isnull=True).update(sent_at=now)
    intervention.save()
    return intervention


@transaction.atomic
def intervention_status_receive(*, event: StatusEvent,
                                webhook_event: WebhookEvent | None = None
                                ) -> Intervention | None:
    """An `intervention.status_update` webhook. None: not one of ours."""
    intervention = _locked_by_remote(external_id=event.external_id,
                                     symphonics_id=event.symphonics_id)
    if intervention is None:
        return None
    if event.symphonics_id and not intervention.symphonics_id:
        intervention.symphonics_id = event.symphonics_id
        intervention.published_at = intervention.published_at or timezone.now()
    intervention.synced_at = timezone.now()
    _status_apply(intervention, remote_status=event.new_status, at=event.at,
                  source=Source.WEBHOOK, previous=event.previous_status, notes=event.notes,
                  webhook_event=webhook_event)
    intervention.save()
    return intervention


@transaction.atomic
def document_verification_receive(*, event: DocumentEvent) -> Intervention | None:
    """A `document.verification` webhook. None: not one of ours.

    The event names the document by type only. Symphonics verifies documents
    in the order it received them, so it is the oldest sent one of that type
    still waiting; failing that, the latest one of that type.
    """
    intervention = _locked_by_remote(external_id=event.external_id,
                                     symphonics_id=event.symphonics_id)
    if intervention is None:
        return None
    candidates = sorted(intervention.documents.filter(kind=event.document_kind),
                        key=lambda d: (d.sent_at is None, d.sent_at or d.created_at, d.pk))
    if not candidates:
        logger.warning("Symphonics verified a %s document that %s does not have",
                       event.document_kind, intervention.external_id)
        return intervention
    waiting = [d for d in candidates if d.verification_status == Verification.PENDING]
    document = waiting[0] if waiting else candidates[-1]
    _verification_apply(intervention, document, remote_status=event.verification_status,
                        notes=event.notes, at=event.at)
    intervention.synced_at = timezone.now()
    intervention.save()
    return intervention


@transaction.atomic
def intervention_publication_refused(*, intervention: Intervention, error: PermanentError
                                     ) -> None:
    """Symphonics refused the create (400/422…): a manager corrects it and publishes again."""
    details = error.error.details if isinstance(error.error.details, list) else []
    fields = "; ".join(f"{d.get('field')}: {d.get('message')}" for d in details
                       if isinstance(d, dict))
    reason = error.error.message or str(error)
    intervention = _locked(intervention)
    intervention.status = Status.PUBLISH_FAILED
    intervention.last_error = f"{reason} ({fields})" if fields else reason
    _flag(intervention, ATTENTION_PUBLISH_FAILED,
          gettext_noop("Publication refused by Symphonics: %(error)s"),
          {"error": intervention.last_error})
    intervention.save(update_fields=["status", "last_error", "updated_at"])


def intervention_error_note(*, intervention: Intervention, error: str,
                            attention: str = "", attention_kind: str = "",
                            attention_values: dict | None = None) -> None:
    """Keep the last error visible on the intervention (the outbox retries it);
    with `attention` (an English source text filled with `attention_values`
    when read), also raise an item of `attention_kind` for a manager."""
    Intervention.objects.filter(pk=intervention.pk).update(last_error=error[:4000],
                                                           updated_at=timezone.now())
    if attention:
        _flag(intervention, attention_kind, attention, attention_values)


def documents_mark_sent(*, documents: list[InterventionDocument]) -> None:
    InterventionDocument.objects.filter(pk__in=[d.pk for d in documents]).update(
        sent_at=timezone.now())


def intervention_refresh(*, intervention: Intervention) -> Intervention:
    """Read the status from Symphonics now ("refresh status" and the poll)."""
    if not intervention.symphonics_id:
        raise ServiceError("not_published",
                           gettext("Symphonics does not have this intervention yet."),
                           status=409)
    try:
        remote = symphonics_client(intervention.connection).get_intervention(
            intervention.symphonics_id, log=intervention_log(intervention, "intervention.read"))
    except PermanentError as exc:
        if exc.status_code != 404:
            raise
        reason = gettext_noop("Symphonics no longer knows %(id)s (the sandbox is reset daily); "
                              "publish it again or ask Symphonics.")
        values = {"id": intervention.symphonics_id}
        intervention_error_note(intervention=intervention, error=str(exc), attention=reason,
                                attention_kind=ATTENTION_UNKNOWN_REMOTE, attention_values=values)
        raise ServiceError("unknown_at_symphonics", gettext(reason) % values,
                           status=404) from exc
    return intervention_remote_apply(intervention=intervention, remote=remote,
                                     source=Source.POLL)


# -- validation proxies ------------------------------------------------------------

@contextmanager
def _symphonics_answer() -> Iterator[None]:
    """Symphonics' failures as API errors: unavailable (503) or refusing (502)."""
    try:
        yield
    except PlatformError as exc:
        if exc.retryable:
            raise ServiceError("symphonics_unavailable",
                               gettext("Symphonics did not answer; try again later. (%(error)s)")
                               % {"error": exc}, status=503) from exc
        raise ServiceError("symphonics_error",
                           gettext("Symphonics refused the request: %(error)s") % {"error": exc},
                           details=exc.error.details or {}, status=502) from exc


def _cache_key(kind: str, *parts: str) -> str:
    # Hashed: e-mails and names stay out of cache keys, and a sandbox answer
    # never serves production.
    raw = json.dumps([settings.SYMPHONICS_API_URL, *parts], ensure_ascii=False)
    return f"symphonics:{kind}:{hashlib.sha256(raw.encode()).hexdigest()}"


def _remember(key: str, value: Any) -> None:
    cache.set(key, value, timeout=settings.SYMPHONICS_VALIDATION_CACHE_SECONDS)


def pdl_validate(*, pdl: str) -> tuple[PdlCheck, bool]:
    """Symphonics' view of a PDL, and whether it came from the cache."""
    pdl = normalise_identifier(pdl)
    problems = Problems()
    problems.matches({"pdl": pdl}, "pdl", "pdl", PDL_RE, PDL_MESSAGE)
    if problems.fields:
        raise ServiceError("validation_error", str(PDL_MESSAGE), details=problems.fields)
    key = _cache_key("pdl", pdl)
    cached = cache.get(key)
    if cached is not None:
        return PdlCheck(**cached), True
    with _symphonics_answer():
        check = symphonics_client().validate_pdl(pdl, log=LogContext(
            action="validation.pdl", entity_type="symphonics.pdl", entity_id=pdl))
    if check.valid:
        _remember(key, asdict(check))
    return check, False


def pdl_lookup(*, street: str, postal_code: str, city: str, customer_name: str
               ) -> tuple[PdlMatch, bool]:
    """The PDL Symphonics finds for an address and a customer name."""
    problems = Problems()
    address = {"street": street, "postal_code": postal_code, "city": city}
    problems.text(address, "street", "address.street")
    problems.matches(address, "postal_code", "address.postal_code", POSTAL_CODE_RE,
                     POSTAL_CODE_MESSAGE)
    problems.text(address, "city", "address.city")
    problems.text({"customer_name": customer_name}, "customer_name", "customer_name")
    if problems.fields:
        raise ServiceError("validation_error",
                           gettext("The address is incomplete; see details."),
                           details=problems.fields)
    key = _cache_key("pdl-lookup", street.strip().lower(), postal_code.strip(),
                     city.strip().lower(), customer_name.strip().lower())
    cached = cache.get(key)
    if cached is not None:
        return PdlMatch(**cached), True
    with _symphonics_answer():
        match = symphonics_client().lookup_pdl(
            street=street, postal_code=postal_code, city=city, customer_name=customer_name,
            log=LogContext(action="validation.pdl_lookup", entity_type="symphonics.pdl",
                           secrets=(customer_name,)))
    if match is None:
        raise ServiceError("not_found", gettext("Symphonics finds no PDL for this address."),
                           status=404)
    _remember(key, asdict(match))
    return match, False


def user_validate(*, email: str) -> tuple[UserCheck, bool]:
    """Whether the e-mail has a Symphonics account (and its status)."""
    email = email.strip()
    if not is_email(email):
        message = str(EMAIL_MESSAGE)
        raise ServiceError("validation_error", message, details={"email": [message]})
    key = _cache_key("user", email.lower())
    cached = cache.get(key)
    if cached is not None:
        return UserCheck(**cached), True
    with _symphonics_answer():
        check = symphonics_client().validate_user(email, log=LogContext(
            action="validation.user", entity_type="symphonics.user", secrets=(email,)))
    if check.exists:
        _remember(key, asdict(check))
    return check, False


def intervention_check_pdl(*, intervention: Intervention) -> PdlCheck:
    """A manager's "validate PDL": ask Symphonics and keep the answer on the intervention."""
    check, _ = pdl_validate(pdl=intervention.pdl)
    if check.valid and check.address:
        address = check.address
        where = f"{address['street']}, {address['postal_code']} {address['city']}"
        if check.meter_type:
            message = gettext("Valid: %(address)s (%(meter)s meter)") % {
                "address": where, "meter": check.meter_type}
        else:
            message = gettext("Valid: %(address)s") % {"address": where}
    elif not check.valid:
        message = gettext("Not valid: %(reason)s") % {"reason": check.message}
    else:
        message = gettext("Valid")
    Intervention.objects.filter(pk=intervention.pk).update(
        pdl_valid=check.valid, pdl_checked_at=timezone.now(), pdl_check_message=message[:300])
    return check



# What a manager may correct on an intervention before Symphonics has it; the
# rest is decided by the hub or by Symphonics.
INTERVENTION_CORRECTABLE_FIELDS = frozenset({
    "customer_first_name", "customer_last_name", "customer_email", "customer_phone",
    "address", "postal_code", "city", "pdl", "pce", "installer_user_id",
    "installer_company_id", "installer_name", "completion_date", "connection",
})


def intervention_update(*, intervention: Intervention, changes: dict[str, Any]) -> Intervention:
    """Correct an intervention that Symphonics does not have yet.

    Only the fields a person may correct are taken (others are a
    `validation_error` naming them); the result is checked by the model's own
    validators before anything is saved.
    """
    refused = sorted(set(changes) - INTERVENTION_CORRECTABLE_FIELDS)
    if refused:
        raise ServiceError(
            "validation_error", gettext("These fields cannot be changed here."),
            details={name: [gettext("This field cannot be changed here.")] for name in refused})
    with transaction.atomic():
        locked = _locked(intervention)
        if not locked.is_editable:
            raise _state_error(locked, str(_("changed")))
        if not changes:
            return locked
        for name, value in changes.items():
            setattr(locked, name, value)
        try:
            locked.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            raise ServiceError(
                "validation_error", gettext("The intervention was not changed."),
                details={name: [str(message) for message in messages]
                         for name, messages in error.message_dict.items()}) from error
        locked.save(update_fields=[*changes, "updated_at"])
    return locked
