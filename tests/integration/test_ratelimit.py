"""Token buckets: in memory, and in a real Redis shared by several processes."""

from __future__ import annotations

import os
import uuid

import pytest

from perfectorder.adapters.ratelimit import MemoryRateLimiter, RedisRateLimiter
from tests.conftest import in_ci

REDIS_URL = os.environ.get("PERFECTORDER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as e:
        if in_ci():
            pytest.fail(f"Redis is required under CI=true and is not reachable: {e}")
        pytest.skip(f"Redis not reachable: {e}")
    return REDIS_URL


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_a_bucket_allows_its_burst_then_says_how_long_to_wait(request, kind):
    if kind == "redis":
        limiter = RedisRateLimiter(request.getfixturevalue("redis_url"), rate_per_second=1, burst=3)
    else:
        limiter = MemoryRateLimiter(rate_per_second=1, burst=3)
    key = f"key:{uuid.uuid4().hex}"
    assert [limiter.take(key) for _ in range(3)] == [None, None, None]
    wait = limiter.take(key)
    assert wait is not None and 0 < wait <= 1.0
    assert limiter.take(f"other:{uuid.uuid4().hex}") is None


def test_two_processes_share_one_redis_bucket(redis_url):
    key = f"key:{uuid.uuid4().hex}"
    first = RedisRateLimiter(redis_url, rate_per_second=0.1, burst=4)
    second = RedisRateLimiter(redis_url, rate_per_second=0.1, burst=4)
    taken = [limiter.take(key) for limiter in (first, second, first, second, first)]
    assert taken[:4] == [None] * 4 and taken[4] is not None
