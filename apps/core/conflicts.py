"""Conflicts: both sides changed one object differently and a manager decides.

A domain opens a conflict when its mastering rules cannot settle a change
(`conflict_open`), and registers, per entity type, the function that applies
the value the manager chose:

    register_conflict_resolver("reservation", apply_reservation_choice)

    def apply_reservation_choice(conflict: Conflict, value: dict) -> None:
        ...  # write `value` to our reservation; enqueue the push if ours changed

The resolver runs inside the transaction that closes the conflict, so the
choice is applied and recorded together, or neither.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext, gettext_noop

from apps.core.admin_display import entity_kind
from apps.core.attention import attention_clear, attention_raise
from apps.core.errors import ServiceError
from apps.core.models import Conflict, Connection, ExternalMapping
from apps.core.registry_names import refuse_duplicate

ATTENTION_KIND = "sync.conflict"

ConflictResolver = Callable[[Conflict, Any], None]
_resolvers: dict[str, ConflictResolver] = {}


def register_conflict_resolver(entity_type: str, resolver: ConflictResolver) -> ConflictResolver:
    """Name the function that applies a resolution to objects of `entity_type`."""
    refuse_duplicate(_resolvers, entity_type, resolver)
    _resolvers[entity_type] = resolver
    return resolver


def conflict_open(*, domain: str, entity_type: str, local_id: str | int,
                  connection: Connection, local_value: Any, remote_value: Any,
                  proposed_value: Any = None, summary: str = "") -> Conflict:
    """Open a conflict, or refresh the open one of the same object with the new values.

    The object's mapping (if any) is marked as in conflict, and an attention
    item tells the managers.
    """
    values = {"local_value": local_value, "remote_value": remote_value,
              "proposed_value": {} if proposed_value is None else proposed_value}
    key = {"entity_type": entity_type, "local_id": str(local_id), "connection": connection}
    with transaction.atomic():
        conflict = Conflict.objects.select_for_update().filter(
            **key, status=Conflict.Status.OPEN).first()
        if conflict is None:
            try:
                with transaction.atomic():
                    conflict = Conflict.objects.create(**key, **values)
            except IntegrityError:
                # Raised at the same moment by another worker: refresh theirs.
                conflict = Conflict.objects.select_for_update().get(
                    **key, status=Conflict.Status.OPEN)
        for name, value in values.items():
            setattr(conflict, name, value)
        conflict.save(update_fields=list(values))
        ExternalMapping.objects.filter(**key).update(status=ExternalMapping.Status.CONFLICT)
        attention_raise(
            domain=domain, kind=ATTENTION_KIND, subject=conflict,
            summary=summary or gettext_noop(
                "%(entity)s %(id)s differs here and on %(connection)s."),
            values={"entity": entity_type, "id": local_id, "connection": connection},
            action_hint=gettext_noop("Compare both sides, then keep ours, take theirs or merge."))
    return conflict


def conflict_resolve(*, conflict: Conflict, resolution: str, user,
                     merged_value: Any = None) -> Conflict:
    """Apply the chosen side (or `merged_value`, by default the proposed merge)
    through the entity's resolver, and close the conflict."""
    if resolution not in Conflict.Resolution.values:
        raise ServiceError("INVALID_RESOLUTION",
                           gettext("Unknown resolution %(resolution)r.") % {
                               "resolution": resolution})
    with transaction.atomic():
        current = Conflict.objects.select_for_update().get(pk=conflict.pk)
        if current.status != Conflict.Status.OPEN:
            raise ServiceError("CONFLICT_ALREADY_RESOLVED",
                               gettext("This conflict was already resolved (%(how)s).") % {
                                   "how": current.get_resolution_display()}, status=409)
        resolver = _resolvers.get(current.entity_type)
        if resolver is None:
            raise ServiceError("NO_CONFLICT_RESOLVER",
                               gettext("Nothing can apply a resolution to %(entity)s objects.")
                               % {"entity": current.entity_type})
        value = _chosen_value(current, resolution, merged_value)
        # Synced by default; the resolver may say otherwise (pending, when
        # ours must now be pushed to the platform).
        ExternalMapping.objects.filter(
            entity_type=current.entity_type, local_id=current.local_id,
            connection_id=current.connection_id, status=ExternalMapping.Status.CONFLICT,
        ).update(status=ExternalMapping.Status.SYNCED)
        resolver(current, value)
        current.status = Conflict.Status.RESOLVED
        current.resolution = resolution
        current.resolved_by = user
        current.resolved_at = timezone.now()
        fields = ["status", "resolution", "resolved_by", "resolved_at"]
        if resolution == Conflict.Resolution.MERGED:
            current.proposed_value = value
            fields.append("proposed_value")
        current.save(update_fields=fields)
        attention_clear(kind=ATTENTION_KIND, subject=current, by=user)
    return current


def _chosen_value(conflict: Conflict, resolution: str, merged_value: Any) -> Any:
    if resolution == Conflict.Resolution.KEEP_LOCAL:
        return conflict.local_value
    if resolution == Conflict.Resolution.TAKE_REMOTE:
        return conflict.remote_value
    return conflict.proposed_value if merged_value is None else merged_value


@dataclass(frozen=True)
class DiffRow:
    field: str
    ours: str
    theirs: str
    proposed: str
    differs: bool
    # What the manager reads: the field's name on the object's own page.
    label: str = ""


_MISSING = object()


def conflict_diff(conflict: Conflict) -> list[DiffRow]:
    """Ours, theirs and the proposed merge field by field (a value that is not
    an object is one row), the fields where ours and theirs differ first.

    A field the platform did not send is not a difference: it says nothing of
    the platform's value, and applying theirs leaves ours as it is.
    """
    sides = (conflict.local_value, conflict.remote_value, conflict.proposed_value)
    if not all(isinstance(side, dict) for side in sides):
        sides = tuple({"value": side} for side in sides)
    names = sorted(set().union(*sides))
    labels = _field_labels(conflict.entity_type)
    rows = []
    for name in names:
        ours, theirs, proposed = (side.get(name, _MISSING) for side in sides)
        rows.append(DiffRow(field=name, label=labels.get(name, name), ours=_shown(ours),
                            theirs=_shown(theirs), proposed=_shown(proposed),
                            differs=theirs is not _MISSING and ours != theirs))
    return sorted(rows, key=lambda row: not row.differs)


def _field_labels(entity_type: str) -> dict[str, str]:
    """The verbose names of the model the domain declared for the entity type
    (admin_display.register_entity), capitalised as its admin page shows them;
    empty for a type without a model: the raw names are shown."""
    kind = entity_kind(entity_type)
    if kind is None:
        return {}
    return {field.name: capfirst(str(field.verbose_name))
            for field in kind.model._meta.get_fields() if hasattr(field, "verbose_name")}


def _shown(value: Any) -> str:
    if value is _MISSING:
        return "—"
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)
