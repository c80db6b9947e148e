"""The simulated platform's state: bordereaux, their claims, payments and the pushes received.

Nothing here knows about HTTP. A `Batch` holds its bordereau's record and
either a generator recipe (its claims made again on each read) or the claims
it was given; a claim that the platform's staff changed, or that the hub
pushed a status to, is stored whole from then on (`Batch.keep`), so only
what differs from the recipe takes memory.

Times are integer milliseconds since the epoch, the precision the platform
writes (`2026-12-02T14:04:17.123Z`, a JavaScript `toISOString()`), so what a
client reads back in `updatedAt` and sends as `updatedSince` compares exactly.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .generator import Defect, Recipe, bulletins


def iso_ms(milliseconds: int) -> str:
    seconds, millis = divmod(milliseconds, 1000)
    moment = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{millis:03d}Z"


def parse_instant(text: str) -> int:
    """ISO 8601 with a zone ("Z" or an offset) to the first millisecond not before it.

    ValueError for anything else, a time without a zone included: the
    platform cannot guess which zone the client meant.
    """
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("a time zone is required")
    micros = (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
    return -(-micros // 1000)  # rounded up: ">= since" must not take an earlier millisecond


@dataclass(slots=True, eq=False)
class Batch:
    id: str
    sequence: int  # the order of creation
    record: dict[str, Any]  # the bordereau as listed, without updatedAt
    updated_ms: int
    claims: int
    items: int  # care acts over all its claims
    recipe: Recipe | None = None
    # Claims stored whole, by position: given, changed on the platform or pushed to.
    stored: dict[int, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)  # numBs -> payment
    # (push kind, numBs) -> the last body applied, canonical: a repeat changes nothing.
    last_push: dict[tuple[str, str], str] = field(default_factory=dict)
    defect: Defect | None = None

    def bulletins(self) -> list[dict[str, Any]]:
        if self.recipe is None:
            return [self.stored[position] for position in range(self.claims)]
        made = bulletins(self.recipe, self.claims) if len(self.stored) < self.claims else []
        return [self.stored[position] if position in self.stored else made[position]
                for position in range(self.claims)]

    def bulletin(self, position: int) -> dict[str, Any]:
        stored = self.stored.get(position)
        if stored is not None:
            return stored
        if self.recipe is None:
            raise IndexError(position)
        return bulletins(self.recipe, position + 1)[position]

    def keep(self, position: int) -> dict[str, Any]:
        """The claim at `position`, stored from now on so that it can change."""
        if position not in self.stored:
            self.stored[position] = self.bulletin(position)
        return self.stored[position]

    def find(self, number: str) -> int | None:
        """The position of the claim numbered `number` in this bordereau, or None."""
        if self.recipe is not None:
            position = self.recipe.position(number)
            # A generated claim has its recipe's number unless it was stored
            # with another (a missing_bs_number defect).
            if (position is not None and 0 <= position < self.claims
                    and (position not in self.stored
                         or self.stored[position].get("numBs") == number)):
                return position
        for position, claim in self.stored.items():
            if claim.get("numBs") is not None and str(claim["numBs"]) == number:
                return position
        return None

    def view(self) -> dict[str, Any]:
        return {**self.record, "updatedAt": iso_ms(self.updated_ms)}


class Store:
    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.batches: dict[str, Batch] = {}
        self.next_sequence = 1
        # Every push received, in order (see api.py for an entry's keys).
        self.pushes: list[dict[str, Any]] = []
        self._order: list[Batch] | None = None
        self._keys: list[int] = []

    def clear_data(self) -> None:
        """Forget the bordereaux (a "replace" generation), keep the pushes received."""
        self.batches = {}
        self.next_sequence = 1
        self._order = None

    def take_sequence(self) -> int:
        sequence = self.next_sequence
        self.next_sequence += 1
        return sequence

    def add(self, batch: Batch) -> None:
        if batch.id in self.batches:
            raise ValueError(f"bordereau {batch.id} exists already")
        self.batches[batch.id] = batch
        self._order = None

    def touch(self, batch: Batch, now_ms: int) -> None:
        """The bordereau changed: its updatedAt moves forward, never to a time it had."""
        batch.updated_ms = max(now_ms, batch.updated_ms + 1)
        self._order = None

    def listing(self, since_ms: int | None) -> list[Batch]:
        """Bordereaux updated at or after `since_ms`, by updatedAt then id.

        The order is kept between calls until something changes, so paging
        through an unchanged listing costs a slice, not a sort, per page.
        """
        if self._order is None:
            self._order = sorted(self.batches.values(), key=lambda b: (b.updated_ms, b.id))
            self._keys = [batch.updated_ms for batch in self._order]
        if since_ms is None:
            return self._order
        return self._order[bisect.bisect_left(self._keys, since_ms):]

    def counts(self) -> dict[str, int]:
        batches = self.batches.values()
        return {
            "bordereaux": len(self.batches),
            "bulletins": sum(batch.claims for batch in batches),
            "items": sum(batch.items for batch in batches),
            "stored_bulletins": sum(len(batch.stored) for batch in batches),
            "payments": sum(len(batch.payments) for batch in batches),
        }
