"""When to ask the ONSS for a declaration's result.

The ONSS processes declarations asynchronously and asks integrators to poll
with this rhythm (webservice page, as quoted by two independent clients):

    0–2 s after the POST    no call: nothing is processed that fast
    2–30 s                  every second
    30 s–20 min             every minute
    after 20 min            stop; a person follows up

The GETs sit on a fixed grid counted from the POST (2, 3, …, 30, 90, 150,
…, 1170 s), so a late worker skips to the next point instead of catching up
with a burst.
"""

from __future__ import annotations

from datetime import datetime, timedelta

FIRST_POLL_AFTER = 2
FAST_POLLING_UNTIL = 30
FAST_INTERVAL = 1
SLOW_INTERVAL = 60
GIVE_UP_AFTER = 20 * 60


def poll_offsets(*, slow_only: bool = False) -> list[int]:
    """Seconds after the POST at which to GET the result."""
    fast = list(range(FIRST_POLL_AFTER, FAST_POLLING_UNTIL + 1, FAST_INTERVAL))
    slow = list(range(FAST_POLLING_UNTIL + SLOW_INTERVAL, GIVE_UP_AFTER + 1, SLOW_INTERVAL))
    return slow if slow_only else fast + slow


def next_poll_at(sent_at: datetime, now: datetime, *, slow_only: bool = False
                 ) -> datetime | None:
    """The next grid point after `now`, or None once 20 minutes are used up.

    `slow_only` is for a declaration waiting for SIGeDIS (result S): it is
    known to take a while, so it is only asked once a minute.
    """
    elapsed = (now - sent_at).total_seconds()
    for offset in poll_offsets(slow_only=slow_only):
        if offset > elapsed:
            return sent_at + timedelta(seconds=offset)
    return None
