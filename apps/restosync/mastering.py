"""Who is the source of truth for a reservation, and what a conflict becomes.

The rules of the design (seed, "Mastering"), as pure functions so the
inbound and outbound flows, the conflict screen and the tests share one copy:

- by default we are the master ("self");
- a platform is master for an entity type it lists in its `master_for`;
- once the guest is seated, has left or did not come, we are master whatever
  the configuration says: the floor staff saw it happen, and a late platform
  event (a cancel sent before the guest arrived) must not undo it;
- when we win a conflict, the guest's allergies are still the union of both
  sides: dropping one a guest told the platform about is a safety problem,
  not a data-quality one.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from apps.restosync.types import ReservationStatus

SELF = "self"
RESERVATION = "reservation"
# Statuses that only the restaurant's floor can set: always ours.
FLOOR_STATUSES = frozenset({ReservationStatus.SEATED, ReservationStatus.COMPLETED,
                            ReservationStatus.NO_SHOW})
ALLERGIES = "allergies"


def reservation_master(*, local_status: str, platform: str,
                       master_for: Collection[str]) -> str:
    """"self" or `platform`: whose version of this reservation wins."""
    if local_status in FLOOR_STATUSES:
        return SELF
    if RESERVATION in master_for:
        return platform
    return SELF


def platform_may_cancel(*, local_status: str) -> bool:
    """A cancel from the platform applies unless the floor has taken over."""
    return local_status not in FLOOR_STATUSES


def allergies_union(ours: Iterable[str], theirs: Iterable[str]) -> list[str]:
    """Ours first, in our order, then theirs that we lack; compared without
    case or surrounding spaces, so "Peanuts" and "peanuts " are one."""
    merged: list[str] = []
    seen: set[str] = set()
    for allergy in (*ours, *theirs):
        key = allergy.strip().casefold()
        if key and key not in seen:
            seen.add(key)
            merged.append(allergy.strip())
    return merged


def merged_reservation(*, local: Mapping[str, Any], remote: Mapping[str, Any],
                       master: str) -> dict[str, Any]:
    """What a reservation becomes when both sides changed it.

    `local` and `remote` hold the same field names (ours). The master's
    values win; a field the platform does not send (None) never erases ours.
    The allergies are the union of both sides whoever wins.
    """
    if master == SELF:
        merged = dict(local)
    else:
        merged = {**local, **{name: value for name, value in remote.items()
                              if value is not None}}
    merged[ALLERGIES] = allergies_union(local.get(ALLERGIES) or (),
                                        remote.get(ALLERGIES) or ())
    return merged


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The names whose values differ, in `after`'s order (a conflict's diff)."""
    return [name for name, value in after.items() if before.get(name) != value]
