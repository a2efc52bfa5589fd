"""Token buckets per API key: in process memory, or in Redis when several processes share the load."""

from __future__ import annotations

import threading
import time
from typing import Any

# Refill, take one token if there is one, and say how long until the next: atomic inside Redis.
_TAKE = """
local tokens = tonumber(redis.call('HGET', KEYS[1], 't') or ARGV[2])
local stamp = tonumber(redis.call('HGET', KEYS[1], 's') or ARGV[3])
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 's', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return {allowed, tostring((1 - tokens) / rate)}
"""


class MemoryRateLimiter:
    """Per process: exact for one server process; with N processes a key may get N times the rate."""

    # Keys can come from callers (client addresses): past this many, full buckets are forgotten.
    MAX_KEYS = 100_000
    blocking = False  # a dict and a lock: fine on the event loop

    def __init__(self, rate_per_second: float, burst: int) -> None:
        self.rate, self.burst = rate_per_second, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float | None:
        """None when allowed, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            if len(self._buckets) >= self.MAX_KEYS and key not in self._buckets:
                self._forget_full(now)
            tokens, stamp = self._buckets.get(key, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - stamp) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return None
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        # A full bucket is what an unseen key gets anyway, so forgetting it changes no answer.
        full = [k for k, (t, s) in self._buckets.items() if t + (now - s) * self.rate >= self.burst]
        for key in full:
            del self._buckets[key]


class RedisRateLimiter:
    """Shared by every process that points at the same Redis."""

    blocking = True

    def __init__(self, url: str, rate_per_second: float, burst: int) -> None:
        import redis

        self.rate, self.burst = rate_per_second, burst
        self._client: Any = redis.Redis.from_url(url)
        self._script = self._client.register_script(_TAKE)

    def take(self, key: str) -> float | None:
        allowed, wait = self._script(
            keys=[f"perfectorder:rate:{key}"], args=[self.rate, self.burst, time.time()]
        )
        return None if int(allowed) == 1 else max(float(wait), 0.001)
