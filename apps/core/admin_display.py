"""How the back-office shows things: statuses, times, personal data, and the
links between an object, its operations, its audit rows and its webhook events.

Every admin uses these, so a status looks the same on every page, a time is
always in the reader's zone with the zone named, and a masked value is masked
the same way in a list and on a change page.

Objects are linked through what the core models store: `entity_type` and
`entity_id` on `OutboundOperation` and `SyncLog`. The entity type is the
model's "<app label>.<model name>"; the id is its primary key unless the
domain registers another field (`register_entity`). Webhook events carry no
entity: a domain that can tell which of its objects an event was about
registers how (`events_of` and `subjects_of`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.apps import apps
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.core.fields import mask, mask_email
from apps.core.models import (
    Conflict,
    Connection,
    ExternalMapping,
    OutboundOperation,
    SyncLog,
    SyncRun,
    WebhookEvent,
)

EMPTY = "—"
# How much of a long text (an error, a reason) a list cell shows by default.
SHORT_TEXT_LENGTH = 60


def short_text(text: str, length: int = SHORT_TEXT_LENGTH) -> str:
    """A long text cut for a list cell, whole in its tooltip, so wide columns
    still fit a 1400 px screen beside the sidebars."""
    if not text:
        return EMPTY
    if len(text) <= length:
        return text
    return format_html('<span title="{}">{}…</span>', text, text[:length])

# -- badges -----------------------------------------------------------------------------------

TONES = ("ok", "pending", "warning", "error", "muted")

# The tone of each stored status. A status missing here is shown "pending": a
# new state is noticed as something in progress rather than hidden as done.
OPERATION_TONES = {
    OutboundOperation.State.PENDING: "pending",
    OutboundOperation.State.IN_FLIGHT: "pending",
    OutboundOperation.State.SUCCEEDED: "ok",
    OutboundOperation.State.FAILED: "warning",
    OutboundOperation.State.UNKNOWN: "warning",
    OutboundOperation.State.DEAD: "error",
    OutboundOperation.State.SUPERSEDED: "muted",
}
SYNCLOG_TONES = {
    SyncLog.Status.SUCCESS: "ok",
    SyncLog.Status.FAILED: "error",
    SyncLog.Status.CONFLICT: "warning",
    SyncLog.Status.RETRY: "warning",
    SyncLog.Status.SKIPPED: "muted",
    SyncLog.Status.STARTED: "pending",
}
WEBHOOK_TONES = {
    WebhookEvent.Status.ACCEPTED: "pending",
    WebhookEvent.Status.PROCESSING: "pending",
    WebhookEvent.Status.PROCESSED: "ok",
    WebhookEvent.Status.IGNORED: "muted",
    WebhookEvent.Status.FAILED: "warning",
    WebhookEvent.Status.DEAD: "error",
    WebhookEvent.Status.REJECTED: "error",
    WebhookEvent.Status.DUPLICATE: "muted",
}
CONNECTION_TONES = {
    Connection.Status.CONNECTED: "ok",
    Connection.Status.ERROR: "error",
    Connection.Status.DISCONNECTED: "muted",
}
SYNC_RUN_TONES = {
    SyncRun.Status.RUNNING: "pending",
    SyncRun.Status.SUCCESS: "ok",
    SyncRun.Status.PARTIAL: "warning",
    SyncRun.Status.ERROR: "error",
}
MAPPING_TONES = {
    ExternalMapping.Status.SYNCED: "ok",
    ExternalMapping.Status.PENDING: "pending",
    ExternalMapping.Status.CONFLICT: "warning",
}
CONFLICT_TONES = {
    Conflict.Status.OPEN: "warning",
    Conflict.Status.RESOLVED: "ok",
}


def status_badge(value: str, label: Any, tone: str) -> str:
    """A status as a labelled badge: the label is always written out, so the
    colour of the tone is never the only sign (colour-blind readers, print)."""
    if tone not in TONES:
        raise ValueError(f"unknown badge tone {tone!r}; use one of {', '.join(TONES)}")
    return format_html('<span class="hub-badge hub-badge--{}" data-status="{}">{}</span>',
                       tone, value, label)


def choice_badge(obj: models.Model, field: str, tones: dict[str, str]) -> str:
    """The badge of a choices field, labelled with its choice's (translated) label."""
    value = getattr(obj, field)
    label = getattr(obj, f"get_{field}_display")()
    return status_badge(value, label, tones.get(value, "pending"))


# -- times ------------------------------------------------------------------------------------

def local_time(dt: datetime | None) -> str:
    """A moment in the reader's time zone, in their language's format, with the zone.

    e.g. "02/12/2026 14:05 CET"; the full zone name and the ISO instant are
    in the element for a hover and for machines.
    """
    if dt is None:
        return EMPTY
    local = timezone.localtime(dt)
    shown = (f"{formats.date_format(local, 'SHORT_DATE_FORMAT')} "
             f"{formats.time_format(local, 'TIME_FORMAT')} {local.tzname()}")
    return format_html('<time datetime="{}" title="{}">{}</time>',
                       dt.isoformat(), timezone.get_current_timezone_name(), shown)


def time_column(field: str, description: Any, *, ordering: bool = True) -> Callable:
    """An admin column or read-only field showing `field` with `local_time`.

    Assigned in a ModelAdmin's body: `created = time_column("created_at", _("created"))`.
    """

    @admin.display(description=description, ordering=field if ordering else None)
    def column(modeladmin: admin.ModelAdmin, obj: models.Model) -> str:
        return local_time(getattr(obj, field))

    column.__name__ = f"{field}_local"
    return column


# -- personal and secret values ---------------------------------------------------------------

def masked_value(value: Any, *, kind: str = "text") -> str:
    """What a manager sees of a personal or secret value, on every page alike.

    `kind` "email" keeps the first letter and the domain (a manager can tell
    two customers apart and spot a typo in the domain); anything else keeps its
    last three characters, as the audit trail's redaction does.
    """
    text = "" if value is None else str(value)
    if not text:
        return EMPTY
    shown = mask_email(text) if kind == "email" else mask(text)
    return format_html('<span class="hub-masked" title="{}">{}</span>',
                       gettext("Masked: personal or secret data"), shown)


def masked_column(field: str, description: Any, *, kind: str = "text") -> Callable:
    """A column or read-only field showing `field` masked; use the same one in
    `list_display` and in the change page's fields so both show the same."""

    @admin.display(description=description)
    def column(modeladmin: admin.ModelAdmin, obj: models.Model) -> str:
        return masked_value(getattr(obj, field), kind=kind)

    column.__name__ = f"{field}_masked"
    return column


# -- entities ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class EntityKind:
    """How the outbox and the audit trail name one model's objects.

    `events_of(entity_id)` gives the ids of the webhook events known to be
    about that object (a queryset of ids, used as a subquery); None when the
    domain cannot tell.
    """

    entity_type: str
    model: type[models.Model]
    id_field: str = "pk"
    events_of: Callable[[str], Any] | None = None


_kinds: dict[str, EntityKind] = {}
# platform -> a function giving [(entity_type, entity_id)] of what an event is about.
_event_subjects: dict[str, Callable[[WebhookEvent], list[tuple[str, str]]]] = {}


def register_entity(entity_type: str, *, model: type[models.Model], id_field: str = "pk",
                    events_of: Callable[[str], Any] | None = None) -> EntityKind:
    """Declare how a domain's entity type is named in the core tables.

    Needed only when the type is not "<app label>.<model name>", its id is not
    the primary key, or its webhook events can be found. Called from the
    domain's admin module, which the admin site imports at start-up.
    """
    kind = EntityKind(entity_type=entity_type, model=model, id_field=id_field,
                      events_of=events_of)
    _kinds[entity_type] = kind
    return kind


def register_event_subjects(platform: str,
                            subjects: Callable[[WebhookEvent], list[tuple[str, str]]]) -> None:
    """Declare how to tell what a platform's webhook event was about:
    `subjects(event)` returns [(entity_type, entity_id)], empty when unknown."""
    _event_subjects[platform] = subjects


def entity_kind(entity_type: str) -> EntityKind | None:
    if not entity_type:
        return None
    if entity_type in _kinds:
        return _kinds[entity_type]
    try:
        model = apps.get_model(entity_type)
    except (LookupError, ValueError):
        return None
    return EntityKind(entity_type=entity_type, model=model)


def entity_of(obj: models.Model) -> tuple[str, str]:
    """(entity_type, entity_id) under which the core tables name `obj`."""
    for kind in _kinds.values():
        if isinstance(obj, kind.model):
            return kind.entity_type, str(getattr(obj, kind.id_field))
    return obj._meta.label_lower, str(obj.pk)


def entity_url(entity_type: str, entity_id: str) -> str:
    """The admin page of an entity, through the site's redirect (it looks the
    object up only when followed, so a list links every row without a query).
    Empty when the type names no model the admin shows."""
    kind = entity_kind(entity_type)
    if kind is None or not entity_id or not admin.site.is_registered(kind.model):
        return ""
    return f"{reverse('admin:core_entity')}?{urlencode({'type': entity_type, 'id': entity_id})}"


def entity_change_url(entity_type: str, entity_id: str) -> str | None:
    """The change page the redirect leads to; None when there is no such object."""
    kind = entity_kind(entity_type)
    if kind is None:
        return None
    lookup = "pk" if kind.id_field == "pk" else kind.id_field
    try:
        pk = (kind.model._default_manager.filter(**{lookup: entity_id})
              .values_list("pk", flat=True).first())
    except (ValueError, ValidationError):
        # Not even an id of that model ("abc" for a number): no such object.
        return None
    if pk is None:
        return None
    opts = kind.model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])


def entity_link(entity_type: str, entity_id: str) -> str:
    """The entity's name, linked to its admin page when it has one."""
    label = f"{entity_type} {entity_id}".strip()
    if not label:
        return EMPTY
    url = entity_url(entity_type, entity_id)
    return format_html('<a href="{}">{}</a>', url, label) if url else label


def local_object_link(entity_type: str, local_id: str) -> str:
    """An object named by its entity type and primary key (as mappings and
    conflicts name it), linked to its change page when the admin shows it."""
    label = f"{entity_type} {local_id}".strip()
    kind = entity_kind(entity_type)
    if kind is None or not local_id or not admin.site.is_registered(kind.model):
        return label or EMPTY
    opts = kind.model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[local_id])
    return format_html('<a href="{}">{}</a>', url, label)


def changelist_url(model: type[models.Model], **filters: Any) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def operations_url(entity_type: str, entity_id: str) -> str:
    return changelist_url(OutboundOperation, entity_type=entity_type, entity_id=entity_id)


def audit_rows_url(entity_type: str = "", entity_id: str = "", *,
                   operation: OutboundOperation | None = None) -> str:
    if operation is not None:
        return changelist_url(SyncLog, operation=operation.pk)
    return changelist_url(SyncLog, entity_type=entity_type, entity_id=entity_id)


def webhook_events_url(entity_type: str, entity_id: str) -> str:
    """Empty when the entity's domain cannot tell which events were about it."""
    kind = entity_kind(entity_type)
    if kind is None or kind.events_of is None:
        return ""
    return changelist_url(WebhookEvent, entity_type=entity_type, entity_id=entity_id)


def _links(links: Iterable[tuple[str, Any]]) -> str:
    shown = [(url, label) for url, label in links if url]
    if not shown:
        return EMPTY
    return format_html('<span class="hub-links">{}</span>',
                       format_html_join(" · ", '<a href="{}">{}</a>', shown))


def related_links(obj: models.Model) -> str:
    """A domain object's operations, audit rows and webhook events, as links
    to the core's change lists filtered to it. Costs no query."""
    entity_type, entity_id = entity_of(obj)
    return _links([
        (operations_url(entity_type, entity_id), _("Operations")),
        (audit_rows_url(entity_type, entity_id), _("Audit rows")),
        (webhook_events_url(entity_type, entity_id), _("Webhook events")),
    ])


def operation_links(operation: OutboundOperation) -> str:
    """An operation's object, its own audit rows and every audit row of its object."""
    return _links([
        (entity_url(operation.entity_type, operation.entity_id), _("Object")),
        (audit_rows_url(operation=operation), _("Audit rows of this operation")),
        (audit_rows_url(operation.entity_type, operation.entity_id)
         if operation.entity_type else "", _("All audit rows of the object")),
    ])


def synclog_links(row: SyncLog) -> str:
    """An audit row's object and the operation it was made for."""
    operation_url = (reverse("admin:core_outboundoperation_change", args=[row.operation_id])
                     if row.operation_id else "")
    return _links([
        (entity_url(row.entity_type, row.entity_id), _("Object")),
        (operation_url, _("Operation #%(id)s") % {"id": row.operation_id}),
    ])


def event_subjects(event: WebhookEvent) -> list[tuple[str, str]]:
    subjects = _event_subjects.get(event.platform)
    return subjects(event) if subjects is not None else []


def webhook_event_links(event: WebhookEvent) -> str:
    """What the event was about, where its domain can tell, and that object's operations."""
    links = []
    for entity_type, entity_id in event_subjects(event):
        links.append((entity_url(entity_type, entity_id), f"{entity_type} {entity_id}"))
        links.append((operations_url(entity_type, entity_id), _("its operations")))
    return _links(links)


def admin_change_link(obj: models.Model | None, label: Any = None) -> str:
    if obj is None:
        return EMPTY
    opts = obj._meta
    try:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return str(label or obj)
    return format_html('<a href="{}">{}</a>', url, label or obj)


# -- filters the links above rely on ----------------------------------------------------------

class LinkFilter(admin.ListFilter):
    """A filter a link sets, shown only while it is in use (with a way out).

    Its choices are not listed: they are every object of the hub, and the
    change lists of the big tables never scan them for choices.
    """

    parameters: tuple[str, ...] = ()

    def __init__(self, request, params, model, model_admin) -> None:
        super().__init__(request, params, model, model_admin)
        for name in self.parameters:
            if name in params:
                value = params.pop(name)
                self.used_parameters[name] = value[-1] if isinstance(value, list) else value

    def has_output(self) -> bool:
        return bool(self.used_parameters)

    def expected_parameters(self) -> list[str]:
        return list(self.parameters)

    def describe(self) -> str:
        return " ".join(self.used_parameters.get(name, "") for name in self.parameters).strip()

    def choices(self, changelist):
        yield {"selected": False,
               "query_string": changelist.get_query_string(remove=list(self.parameters)),
               "display": _("All")}
        yield {"selected": True,
               "query_string": changelist.get_query_string(),
               "display": self.describe()}


class EntityFilter(LinkFilter):
    """The rows of one object (its `entity_type` and `entity_id`)."""

    title = _("object")
    parameters = ("entity_type", "entity_id")

    def queryset(self, request, queryset):
        return queryset.filter(**self.used_parameters)


class OperationFilter(LinkFilter):
    title = _("operation")
    parameters = ("operation",)

    def describe(self) -> str:
        return gettext("Operation #%(id)s") % {"id": self.used_parameters["operation"]}

    def queryset(self, request, queryset):
        value = self.used_parameters.get("operation", "")
        return queryset.filter(operation_id=value) if value.isdigit() else queryset.none()


class ConnectionLinkFilter(LinkFilter):
    title = _("connection")
    parameters = ("connection",)

    def describe(self) -> str:
        return gettext("Connection #%(id)s") % {"id": self.used_parameters["connection"]}

    def queryset(self, request, queryset):
        value = self.used_parameters.get("connection", "")
        return queryset.filter(connection_id=value) if value.isdigit() else queryset.none()


class WebhookEntityFilter(EntityFilter):
    """The webhook events known to be about one object (see `EntityKind.events_of`)."""

    def queryset(self, request, queryset):
        kind = entity_kind(self.used_parameters.get("entity_type", ""))
        entity_id = self.used_parameters.get("entity_id", "")
        if kind is None or kind.events_of is None or not entity_id:
            return queryset.none()
        return queryset.filter(pk__in=kind.events_of(entity_id))
