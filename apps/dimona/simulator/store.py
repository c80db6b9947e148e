"""The ONSS side of the data: Dimona periods and received declarations."""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass, field
from typing import Any

from . import timing
from .anomalies import Anomaly
from .validation import Submission


@dataclass
class Period:
    """A Dimona period: what the ONSS knows about one employment of a worker."""

    period_id: int
    enterprise_number: str
    ssin: str
    features: dict[str, Any]
    start_date: str
    start_hour: str | None = None
    end_date: str | None = None
    end_hour: str | None = None
    planned_hours: float | None = None
    cancelled: bool = False

    def span(self) -> tuple[dt.datetime, dt.datetime]:
        return timing.span(self.start_date, self.start_hour, self.end_date, self.end_hour)

    def change(self, action: dict[str, Any]) -> None:
        """Apply the new dates/hours of an update or an out."""
        for wire_name, attribute in WIRE_FIELDS.items():
            if wire_name in action:
                setattr(self, attribute, action[wire_name])


# Wire names of the period fields an update or an out may change.
WIRE_FIELDS = {
    "startDate": "start_date",
    "startHour": "start_hour",
    "endDate": "end_date",
    "endHour": "end_hour",
    "plannedHoursNumber": "planned_hours",
}


@dataclass(frozen=True)
class Outcome:
    """How the ONSS processed a declaration."""

    result: str  # A, W, B (S is a phase before the outcome, see Declaration)
    anomalies: tuple[Anomaly, ...] = ()
    period_id: int | None = None


@dataclass
class Declaration:
    declaration_id: int
    sequence: int  # arrival order, to process same-time declarations in order
    submission: Submission
    received_at: float
    visible_at: float  # GET answers 404 until then
    decided_at: float  # later than visible_at while waiting for SIGeDIS (result S)
    outcome: Outcome | None = None
    # Known once processed (from the body for an In, from the period otherwise).
    enterprise_number: str | None = None
    ssin: str | None = None
    gets: int = 0

    @property
    def kind(self) -> str:
        return self.submission.kind


def employer_id(enterprise_number: str) -> int:
    """A stable stand-in for the employer's NSSO registration number.

    Responses carry both identifiers; the real one comes from the ONSS
    register, which the simulator does not have.
    """
    return 1_000_000 + zlib.crc32(enterprise_number.encode()) % 9_000_000


@dataclass
class IdAllocator:
    """Unique 12-digit ids, one pool for declarations and periods alike.

    One pool makes a period id never equal a declaration id, so a client
    that confuses them gets a clear failure instead of a lucky success.
    """

    random: Any  # random.Random of the simulator, seeded for reproducible ids
    used: set[int] = field(default_factory=set)

    def next(self) -> int:
        while True:
            candidate = self.random.randint(100_000_000_000, 999_999_999_999)
            if candidate not in self.used:
                self.used.add(candidate)
                return candidate
