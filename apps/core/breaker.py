"""A circuit breaker per platform, its state shared through the store.

closed     calls go through; consecutive failures are counted
open       calls fail at once, for `cooldown_seconds`
half-open  after the cool-down one trial call is let through: success
           closes the circuit, failure opens it again

Only failures that say the platform is unwell count: network errors,
timeouts and 5xx. A 4xx is our mistake, and a 429 is the platform working
as designed, so neither trips the breaker.
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.core.store import SharedStore, shared_store

# The values the health page, the dashboard and the metrics map to labels and
# severities (half-open is computed from an open state past its cool-down,
# never stored).
CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


@dataclass(frozen=True)
class BreakerPolicy:
    # Five consecutive failures: low-volume platforms (a few hundred calls a
    # day) see that only during a real outage, not from one flaky request.
    failure_threshold: int = 5
    # One minute: long enough for a deploy or a failover at the platform,
    # short enough that a recovered platform is used again quickly.
    cooldown_seconds: float = 60.0


class CircuitOpenError(Exception):
    def __init__(self, platform: str, retry_in: float) -> None:
        super().__init__(f"circuit for {platform} is open; next trial in {retry_in:.0f}s")
        self.platform = platform
        self.retry_in = retry_in


class CircuitBreaker:
    def __init__(self, platform: str, policy: BreakerPolicy,
                 store: SharedStore | None = None) -> None:
        self.platform = platform
        self.policy = policy
        self._store = store
        self.key = f"breaker:{platform}"
        self.trial_key = f"breaker:{platform}:trial"
        self.failures_key = f"breaker:{platform}:failures"

    @property
    def store(self) -> SharedStore:
        return self._store or shared_store()

    def snapshot(self) -> dict[str, object]:
        """State as the admin shows it: state, failures, opened_at (epoch)."""
        data = self.store.hash_get(self.key)
        state = data.get("state", CLOSED)
        opened_at = float(data.get("opened_at") or 0)
        if state == OPEN and self.store.now() - opened_at >= self.policy.cooldown_seconds:
            state = HALF_OPEN
        return {"state": state, "failures": int(self.store.get(self.failures_key) or 0),
                "opened_at": opened_at or None}

    def before_call(self) -> None:
        """Raise CircuitOpenError unless this call may go through."""
        data = self.store.hash_get(self.key)
        if data.get("state", CLOSED) != OPEN:
            return
        elapsed = self.store.now() - float(data.get("opened_at") or 0)
        remaining = self.policy.cooldown_seconds - elapsed
        if remaining > 0:
            raise CircuitOpenError(self.platform, remaining)
        # Half-open: exactly one process gets the trial; the lock expires
        # after a cool-down in case that process dies mid-call.
        if not self.store.add(self.trial_key, "1", ttl=self.policy.cooldown_seconds):
            raise CircuitOpenError(self.platform, self.policy.cooldown_seconds)

    def record_success(self) -> None:
        # Two reads on the happy path and no write unless something changes.
        if self.store.get(self.failures_key) is not None:
            self.store.delete(self.failures_key)
        if self.store.hash_get(self.key).get("state", CLOSED) != CLOSED:
            self.store.hash_set(self.key, {"state": CLOSED, "opened_at": ""})
            self.store.delete(self.trial_key)

    def record_failure(self) -> None:
        if self.store.hash_get(self.key).get("state", CLOSED) == OPEN:
            # The half-open trial failed (or a call that started before the
            # circuit opened): open for another full cool-down.
            self._open()
            return
        # An atomic counter, so failures seen by two processes at once both count.
        failures = self.store.incr(self.failures_key, ttl=24 * 3600)
        if failures >= self.policy.failure_threshold:
            self._open()

    def _open(self) -> None:
        self.store.hash_set(self.key, {"state": OPEN, "opened_at": repr(self.store.now())})
        self.store.delete(self.failures_key)
        self.store.delete(self.trial_key)

    def reset(self) -> None:
        for key in (self.key, self.trial_key, self.failures_key):
            self.store.delete(key)
