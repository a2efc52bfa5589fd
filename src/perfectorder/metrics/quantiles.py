"""Quantiles from mergeable log-spaced buckets (DDSketch-style), so per-day rollups can hold them.

A positive value v falls in bucket i = ceil(log_GAMMA(v / SMALLEST)), the range
(SMALLEST * GAMMA**(i-1), SMALLEST * GAMMA**i]; the bucket stands for 2 * SMALLEST * GAMMA**i / (GAMMA + 1),
which is within RELATIVE_ERROR of every value in it. Negative values mirror into negative buckets, and
values within SMALLEST of zero fall in bucket 0 and stand for 0. Summing the counts of two days' buckets
gives the buckets of both days together, so a period's quantile needs no per-order rows.

The quantile is the 'type 7' of metrics.kpis over the values the buckets stand for: each of the two
ranks it interpolates between is replaced by its bucket's value. For values of one sign beyond
SMALLEST the result is therefore within RELATIVE_ERROR of the exact type 7 quantile (an interpolation
between two values each within the bound is itself within it); a value nearer zero than SMALLEST
is off by at most SMALLEST.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

RELATIVE_ERROR = 0.01
GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR)
SMALLEST = 1e-3  # hours: 3.6 seconds; a duration shorter than this counts as none
_LOG_GAMMA = math.log(GAMMA)


def bucket_of(value: float) -> int:
    magnitude = abs(value)
    if magnitude <= SMALLEST:
        return 0
    index = max(math.ceil(math.log(magnitude / SMALLEST) / _LOG_GAMMA), 1)
    return index if value > 0 else -index


def value_of(bucket: int) -> float:
    if bucket == 0:
        return 0.0
    middle = 2 * SMALLEST * GAMMA ** abs(bucket) / (GAMMA + 1)
    return middle if bucket > 0 else -middle


def buckets(values: Iterable[float]) -> dict[int, int]:
    out: dict[int, int] = {}
    for v in values:
        b = bucket_of(v)
        out[b] = out.get(b, 0) + 1
    return out


def quantile(counts: Mapping[int, int], q: float) -> float | None:
    """The type 7 quantile q of the values counted in `counts` (bucket -> how many); None if none."""
    ordered = [(b, n) for b, n in sorted(counts.items()) if n > 0]
    total = sum(n for _, n in ordered)
    if total == 0:
        return None
    position = (total - 1) * q
    low = int(position)
    high = min(low + 1, total - 1)
    low_value, high_value = _at_rank(ordered, low), _at_rank(ordered, high)
    return low_value + (high_value - low_value) * (position - low)


def _at_rank(ordered: list[tuple[int, int]], rank: int) -> float:
    seen = 0
    for bucket, n in ordered:
        seen += n
        if rank < seen:
            return value_of(bucket)
    raise ValueError(f"rank {rank} beyond {seen} values")
