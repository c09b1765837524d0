"""Pure pieces with injected clocks: the token bucket, typing pauses, the webhook backoff, numbers, settings."""

import random

import pytest
from whatsapp_bridge.config import ConfigError, Settings
from whatsapp_bridge.forwarder import Forwarder, is_permanent, sign
from whatsapp_bridge.numbers import InvalidNumber, to_jid
from whatsapp_bridge.pacing import RateLimited, TokenBucket, typing_seconds


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_token_bucket_burst_rate_and_limit():
    clock = Clock()
    bucket = TokenBucket(per_minute=20, burst=2, max_wait=5, clock=clock)  # one every 3 s
    assert bucket.reserve() == 0 and bucket.reserve() == 0  # the burst
    assert bucket.reserve() == pytest.approx(3.0)  # the next slot
    with pytest.raises(RateLimited) as limited:
        bucket.reserve()  # would wait 6 s > 5
    assert limited.value.retry_after == pytest.approx(6.0) and limited.value.retry_after_header == "6"
    clock.now += 9  # 3 tokens regained, one already promised
    assert bucket.reserve() == 0
    assert TokenBucket(per_minute=0, burst=1, max_wait=0, clock=clock).reserve() == 0  # 0: no limit


def test_typing_pause_is_proportional_and_capped():
    assert typing_seconds("hola", 25, 3) == pytest.approx(0.66)
    assert typing_seconds("x" * 1000, 25, 3) == 3
    assert typing_seconds("x", 25, 0) == 0


def test_webhook_backoff_doubles_to_the_cap_with_jitter():
    settings = Settings(retry_base=1, retry_max=300)
    forwarder = Forwarder.__new__(Forwarder)
    forwarder.settings, forwarder.rng = settings, random.Random(7)
    for failures, ceiling in [(1, 1), (2, 2), (3, 4), (9, 256), (10, 300), (40, 300)]:
        delay = forwarder.backoff(failures)
        assert ceiling / 2 <= delay <= ceiling


def test_permanent_statuses():
    assert [s for s in (200, 400, 401, 404, 408, 413, 422, 429, 500, 503) if is_permanent(s)] == [400, 401, 404,
                                                                                                  413, 422]


def test_signature_format():
    assert sign("k", b"{}", 1700000000).startswith("t=1700000000,v1=")


def test_numbers():
    assert to_jid(" +52 (1) 477-123-4567 ") == "5214771234567@s.whatsapp.net"
    assert to_jid("123@LID") == "123@lid"
    for bad in ("", "12@g.us", "hola@s.whatsapp.net", "abc@lid", "1" * 16, "status@broadcast"):
        with pytest.raises(InvalidNumber):
            to_jid(bad)


def test_settings_from_env():
    env = {"BRIDGE_TOKEN": "t", "MOSTRADOR_WEBHOOK_TOKEN": "w", "BRIDGE_SEND_PER_MINUTE": "10", "BRIDGE_TYPING": "0",
           "BRIDGE_PAIR_PHONE": "+52 1 477 123 4567"}
    s = Settings.from_env(env)
    assert (s.token, s.send_per_minute, s.typing, s.pair_phone, s.port) == ("t", 10, False, "5214771234567", 8090)
    assert Settings.from_env({"MOSTRADOR_BRIDGE_TOKEN": "x", "MOSTRADOR_WEBHOOK_TOKEN": "w"}).token == "x"
    for broken in ({}, {"BRIDGE_TOKEN": "t"}, {**env, "BRIDGE_PORT": "99999"}, {**env, "BRIDGE_TYPING": "tal vez"},
                   {**env, "BRIDGE_DATA_DIR": "/tmp/a?b"}, {**env, "BRIDGE_IDEMPOTENCY_DAYS": "1"}):
        with pytest.raises(ConfigError):
            Settings.from_env(broken)
    assert Settings.from_env({}, fake=True).token == "dev-bridge-token"
