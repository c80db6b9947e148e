"""Read-only queries of a restaurant's data, and what the sync engine reads from it."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse

from apps.core.breaker import CircuitBreaker
from apps.core.connections import connection_scope_key
from apps.core.models import Connection, CredentialsUnreadable, ExternalMapping, SyncRun
from apps.core.platforms import platform_registered, registered_platforms
from apps.restosync.models import (
    ENTITY_OFFER,
    ENTITY_RESERVATION,
    ENTITY_ROOM,
    ENTITY_SERVICE,
    ENTITY_TABLE,
    POLL_KIND,
    RESTAURANT_UID,
    Reservation,
    Restaurant,
    SyncPlatformConfig,
)
from apps.restosync.types import (
    ConnectorConfig,
    CustomerData,
    ReservationData,
    ReservationStatus,
)


def reservations_list(*, restaurant: Restaurant | None = None, day: date | None = None,
                      status: str | None = None) -> QuerySet[Reservation]:
    """Reservations with what their pages show, optionally of one restaurant, one
    local day (in the restaurant's zone) and one status."""
    queryset = Reservation.objects.with_links()
    if restaurant is not None:
        queryset = queryset.filter(restaurant=restaurant)
        if day is not None:
            start, end = local_day_bounds(day=day, time_zone=restaurant.time_zone)
            queryset = queryset.filter(reservation_time__gte=start, reservation_time__lt=end)
    elif day is not None:
        # Without a restaurant each one's own zone decides; a day is at most
        # 14 h either side of UTC, so the rows are narrowed first.
        start, end = local_day_bounds(day=day, time_zone="UTC")
        candidates = queryset.filter(reservation_time__gte=start - timedelta(hours=14),
                                     reservation_time__lt=end + timedelta(hours=14))
        ids = [pk for pk, moment, zone in candidates.values_list(
            "pk", "reservation_time", "restaurant__time_zone")
            if moment.astimezone(ZoneInfo(zone)).date() == day]
        queryset = queryset.filter(pk__in=ids)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def local_day_bounds(*, day: date, time_zone: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(time_zone)
    return (datetime.combine(day, time.min, tzinfo=zone),
            datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone))


def reservation_sync_states(reservations: list[Reservation]) -> dict[int, list[dict]]:
    """Per reservation, its mapping on each platform (one query for the whole page):
    [{"platform", "connection", "external_id", "status", "synced_at"}]."""
    states: dict[int, list[dict]] = defaultdict(list)
    if not reservations:
        return states
    rows = (ExternalMapping.objects.filter(
        entity_type=ENTITY_RESERVATION, local_id__in=[str(r.pk) for r in reservations])
        .select_related("connection").order_by("connection__platform", "connection_id"))
    for mapping in rows:
        states[int(mapping.local_id)].append({
            "platform": mapping.connection.platform, "connection": mapping.connection_id,
            "external_id": mapping.external_id, "status": mapping.status,
            "synced_at": mapping.synced_at})
    return states


def platform_configs_list() -> QuerySet[SyncPlatformConfig]:
    return SyncPlatformConfig.objects.select_related("restaurant", "connection")


def platform_configs_active(*, restaurant: Restaurant) -> QuerySet[SyncPlatformConfig]:
    """The restaurant's configurations a change may be pushed to."""
    return platform_configs_list().filter(restaurant=restaurant, is_active=True)


def config_poll_runs(*, config: SyncPlatformConfig, limit: int = 20) -> list[SyncRun]:
    """The configuration's last polls, newest first."""
    return list(SyncRun.objects.filter(kind=POLL_KIND, connection=config.connection_id)
                .order_by("-started_at", "-pk")[:limit])


def config_restaurant_uid(config: SyncPlatformConfig) -> str:
    """The platform's id of the restaurant, kept with the connection's credentials;
    empty when they cannot be read (the connection then shows why)."""
    try:
        return config.connection.credentials().extra.get(RESTAURANT_UID, "")
    except CredentialsUnreadable:
        return ""


def config_has_webhook_secret(config: SyncPlatformConfig) -> bool:
    try:
        return bool(config.connection.credentials().webhook_secret)
    except CredentialsUnreadable:
        return False


def config_webhook_url(config: SyncPlatformConfig) -> str:
    """Where the platform sends this restaurant's events: the core's channel of its
    connection, on the hub's public address."""
    path = reverse("webhook-channel", kwargs={"platform": config.platform,
                                              "connection_id": config.connection_id})
    return f"{settings.HUB_BASE_URL.rstrip('/')}{path}"


def config_breaker(config: SyncPlatformConfig) -> dict | None:
    """The circuit breaker of the configuration's connection (state, failures,
    opened_at), as its platform client keeps it; None while no client is
    registered for the platform."""
    if not platform_registered(config.platform):
        return None
    platform = next(p for p in registered_platforms() if p.name == config.platform)
    return CircuitBreaker(connection_scope_key(config.connection), platform.breaker).snapshot()


def connector_config(config: SyncPlatformConfig) -> ConnectorConfig:
    """What a connector needs from a configuration, without the model."""
    connection: Connection = config.connection
    options = connection.settings if isinstance(connection.settings, dict) else {}
    return ConnectorConfig(platform=config.platform,
                           restaurant_uid=config_restaurant_uid(config),
                           connection=connection, base_url=connection.base_url,
                           time_zone=config.restaurant.time_zone, options=dict(options))


def _external_ids(connection: Connection, wanted: list[tuple[str, int]]) -> dict:
    """(entity type, local id) -> the platform's id, in one query."""
    if not wanted:
        return {}
    rows = ExternalMapping.objects.filter(
        connection=connection, entity_type__in={entity for entity, _ in wanted},
        local_id__in={str(local) for _, local in wanted},
    ).values_list("entity_type", "local_id", "external_id")
    found = {(entity, local): external for entity, local, external in rows}
    return {(entity, local): found.get((entity, str(local))) for entity, local in wanted}


def reservation_data(reservation: Reservation, *,
                     connection: Connection | None = None) -> ReservationData:
    """The reservation as the connectors take it. With a connection, our service,
    offer, room and tables become that platform's ids through the mappings; one
    without a mapping is left None (and out of the request)."""
    tables = list(reservation.tables.all())
    wanted: list[tuple[str, int]] = []
    for entity, local in ((ENTITY_SERVICE, reservation.service_id),
                          (ENTITY_OFFER, reservation.offer_id),
                          (ENTITY_ROOM, reservation.dining_room_id)):
        if local is not None:
            wanted.append((entity, local))
    wanted += [(ENTITY_TABLE, table.pk) for table in tables]
    external = _external_ids(connection, wanted) if connection is not None else {}
    customer = reservation.customer
    return ReservationData(
        reference=str(reservation.pk),
        party_size=reservation.party_size,
        start=reservation.reservation_time,
        status=ReservationStatus(reservation.status),
        adults=reservation.adults,
        children=reservation.children,
        duration_minutes=reservation.duration_min,
        customer=CustomerData(
            name=customer.name, phone=customer.phone, email=customer.email,
            # The reservation's allergies and the customer's known ones, once each.
            allergies=tuple(dict.fromkeys([*reservation.allergies, *customer.allergies]))),
        notes=reservation.notes,
        dietary_restrictions=tuple(reservation.dietary_restrictions),
        occasion=reservation.occasion,
        service_external_id=external.get((ENTITY_SERVICE, reservation.service_id)),
        offer_external_id=external.get((ENTITY_OFFER, reservation.offer_id)),
        area_external_id=external.get((ENTITY_ROOM, reservation.dining_room_id)),
        table_external_ids=tuple(
            ext for ext in (external.get((ENTITY_TABLE, table.pk)) for table in tables) if ext),
    )
