"""Password hashing (argon2id, argon2-cffi) and the in-memory login rate limiter."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["MAX_PASSWORD", "MIN_PASSWORD", "LoginLimiter", "Passwords"]

MIN_PASSWORD, MAX_PASSWORD = 8, 256


class Passwords:
    """argon2id hashes. CPU-heavy by design (tens of ms): call from a worker thread, never on the event loop."""

    def __init__(self, *, time_cost: int = 3, memory_kib: int = 65536) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        self._dummy = self._hasher.hash("not a password: equalises the time of unknown usernames")

    def hash(self, password: str) -> str:
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise ValueError(f"expected a password of {MIN_PASSWORD} to {MAX_PASSWORD} characters, got {len(password)}")
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; with no hash (unknown user) it still spends the same time, then says no."""
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


class LoginLimiter:
    """At most `max_failures` failed logins per key (username, client IP) within `window_s`. Thread-safe.

    Memory is bounded: at most `max_keys` keys are tracked; the least recently failed are forgotten first.
    """

    def __init__(
        self,
        max_failures: int = 5,
        window_s: float = 300.0,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures, self.window_s, self._max_keys, self._clock = max_failures, window_s, max_keys, clock
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after_s(self, key: tuple[str, str]) -> float | None:
        """Seconds until this key may try again, or None when it may try now."""
        now = self._clock()
        with self._lock:
            times = self._failures.get(key)
            if times is None:
                return None
            while times and times[0] <= now - self.window_s:
                times.popleft()
            if not times:
                del self._failures[key]
                return None
            if len(times) < self.max_failures:
                return None
            return max(0.0, times[0] + self.window_s - now)

    def failed(self, key: tuple[str, str]) -> None:
        with self._lock:
            times = self._failures.pop(key, None) or deque(maxlen=self.max_failures)
            times.append(self._clock())
            self._failures[key] = times  # most recent last
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.pop(key, None)
