"""Request rate limits per API key: a token bucket per tenant, in this process.

Each key may send ``rate`` requests a second on average and ``burst`` at
once; past that it gets ``429`` with ``Retry-After``. Limits are per API node
(several nodes behind a balancer each allow the rate). Without keys (the open,
loopback-only default) there is no one to tell apart, so nothing is limited.
"""

from __future__ import annotations

import threading
import time


class RateLimiter:
    def __init__(self, rate: float, burst: int):
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Take a token for ``key``: 0 if allowed, else the seconds until one is free."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate


__all__ = ["RateLimiter"]
