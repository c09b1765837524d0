"""Anti-ban pacing for outbound messages: a global rate (token bucket), a minimum gap per chat and a
"typing" pause proportional to the text. WhatsApp bans accounts that blast; a help desk replies."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Callable, Optional


class RateLimited(Exception):
    def __init__(self, retry_after: float):
        super().__init__(f"retry after {retry_after:.1f} s")
        self.retry_after = retry_after

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after)))


class TokenBucket:
    """`per_minute` sends, bursts of up to `burst`. `reserve()` takes a slot now or in the future and returns
    how long to wait for it; a wait over `max_wait` takes nothing and raises RateLimited."""

    def __init__(self, per_minute: float, burst: float, max_wait: float,
                 clock: Callable[[], float] = time.monotonic):
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, burst)
        self.max_wait = max_wait
        self.clock = clock
        self.tokens = self.capacity
        self.updated = clock()

    def reserve(self) -> float:
        if self.rate <= 0:
            return 0.0  # 0 per minute: no limit
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        wait = 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate
        if wait > self.max_wait:
            raise RateLimited(wait)
        self.tokens -= 1
        return wait

    def release(self) -> None:
        """Gives back a reserved slot whose send did not happen."""
        if self.rate > 0:
            self.tokens = min(self.capacity, self.tokens + 1)


def typing_seconds(text: str, chars_per_second: float, cap: float) -> float:
    if cap <= 0:
        return 0.0
    return min(cap, 0.5 + len(text) / chars_per_second)


class ChatGaps:
    """One lock per chat (sends to one person go out in order) and the time of the last send to it."""

    def __init__(self, min_gap: float, clock: Callable[[], float] = time.monotonic):
        self.min_gap = min_gap
        self.clock = clock
        self.locks: dict[str, asyncio.Lock] = {}
        self.last: dict[str, float] = {}

    def lock(self, chat: str) -> asyncio.Lock:
        lock = self.locks.get(chat)
        if lock is None:
            lock = self.locks[chat] = asyncio.Lock()
        return lock

    def wait_for(self, chat: str) -> float:
        last: Optional[float] = self.last.get(chat)
        if last is None:
            return 0.0
        return max(0.0, last + self.min_gap - self.clock())

    def sent(self, chat: str) -> None:
        self.last[chat] = self.clock()
        if len(self.last) > 10000:  # forget the oldest chats
            for key in sorted(self.last, key=self.last.get)[:5000]:
                self.last.pop(key, None)
                lock = self.locks.get(key)
                if lock is not None and not lock.locked():
                    self.locks.pop(key, None)
