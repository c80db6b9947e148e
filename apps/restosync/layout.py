"""The platform's floor plan (areas and tables) linked to ours, so bookings
carry their room and tables both ways.

Each area and table the platform lists is linked (a core `ExternalMapping`)
to one of the restaurant's rooms or tables: the one it is already linked to,
else ours of the same name (compared without case or surrounding spaces),
else a new one made from the platform's. Ours are never deleted: a table
the platform no longer lists keeps its link until a manager removes it. When
the platform is master for rooms or tables (its `master_for`), the names and
covers it gives replace ours; otherwise ours stay as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Model, QuerySet

from apps.core.errors import ServiceError
from apps.core.models import ExternalMapping
from apps.core.sync import mapping_upsert
from apps.restosync import services
from apps.restosync.connectors import Capability
from apps.restosync.connectors.base import PlatformConnector
from apps.restosync.models import (
    ENTITY_ROOM,
    ENTITY_TABLE,
    DiningRoom,
    DiningTable,
    SyncPlatformConfig,
)
from apps.restosync.types import RemoteArea, RemoteTable

Remote = RemoteArea | RemoteTable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LayoutResult:
    linked: int = 0
    created: int = 0
    updated: int = 0


def _key(name: str) -> str:
    return name.strip().casefold()


def _linked(config: SyncPlatformConfig, entity_type: str) -> dict[str, str]:
    """External id -> our id, for this configuration's links of one kind."""
    return dict(ExternalMapping.objects.filter(connection=config.connection,
                                               entity_type=entity_type)
                .values_list("external_id", "local_id"))


def layout_pull(*, config: SyncPlatformConfig, connector: PlatformConnector) -> LayoutResult:
    """Link the platform's areas and tables to our rooms and tables (see the module)."""
    areas = connector.list_areas() if connector.supports(Capability.AREAS) else []
    tables = connector.list_tables() if connector.supports(Capability.TABLES) else []
    master_for = set(config.master_for or [])
    restaurant = config.restaurant
    rooms, rooms_counts = _link(
        config, ENTITY_ROOM, areas, DiningRoom.objects.filter(restaurant=restaurant),
        values_of=lambda area: {"name": area.name[:120]},
        create=lambda values: services.room_create(restaurant=restaurant, **values),
        update=lambda room, values: services.room_update(room=room, **values),
        platform_is_master=ENTITY_ROOM in master_for)
    _tables, tables_counts = _link(
        config, ENTITY_TABLE, tables, DiningTable.objects.filter(restaurant=restaurant),
        values_of=lambda table: _table_values(table, rooms),
        create=lambda values: services.table_create(restaurant=restaurant, **values),
        update=lambda table, values: services.table_update(table=table, **values),
        platform_is_master=ENTITY_TABLE in master_for)
    return LayoutResult(**{name: rooms_counts[name] + tables_counts[name]
                           for name in ("linked", "created", "updated")})


def _link(config: SyncPlatformConfig, entity_type: str, remote_items: list[Remote],
          ours: QuerySet, *, values_of: Callable[[Remote], dict[str, Any]],
          create: Callable[[dict[str, Any]], Model],
          update: Callable[[Model, dict[str, Any]], Model],
          platform_is_master: bool) -> tuple[dict[str, Model], dict[str, int]]:
    """Link each remote item to one of `ours`; returns external id -> ours, and the counts."""
    by_pk = {str(obj.pk): obj for obj in ours}
    by_name = {_key(obj.name): obj for obj in by_pk.values()}
    linked = _linked(config, entity_type)
    counts = {"linked": 0, "created": 0, "updated": 0}
    result: dict[str, Model] = {}
    for remote in remote_items:
        if not remote.name.strip():
            logger.warning("%s %s of %s has no name: not linked", entity_type,
                           remote.external_id, config.platform)
            continue
        values = values_of(remote)
        obj = by_pk.get(linked.get(remote.external_id, "")) or by_name.get(_key(remote.name))
        try:
            with transaction.atomic():
                if obj is None:
                    obj = create(values)
                    counts["created"] += 1
                elif platform_is_master:
                    before = {name: getattr(obj, name) for name in values}
                    obj = update(obj, values)
                    counts["updated"] += before != {name: getattr(obj, name) for name in values}
                if linked.get(remote.external_id) != str(obj.pk):
                    mapping_upsert(entity_type=entity_type, local_id=obj.pk,
                                   connection=config.connection, external_id=remote.external_id)
                    counts["linked"] += 1
        except ServiceError as exc:
            # One item our rules refuse (a name already linked elsewhere, a
            # bad capacity): the others are still linked, and the log says why.
            logger.warning("%s %s of %s not linked: %s", entity_type, remote.external_id,
                           config.platform, exc.message)
            continue
        by_pk[str(obj.pk)] = by_name[_key(obj.name)] = obj
        result[remote.external_id] = obj
    return result, counts


def _table_values(remote: RemoteTable, rooms: dict[str, Model]) -> dict[str, Any]:
    """Our table as the platform describes it; covers kept consistent (max >= min >= 1)."""
    min_covers = max(remote.min_people or 1, 1)
    max_covers = max(remote.max_people or min_covers, min_covers)
    room = rooms.get(remote.area_external_id) if remote.area_external_id else None
    return {"name": remote.name[:60], "min_covers": min_covers, "max_covers": max_covers,
            "room": room}
