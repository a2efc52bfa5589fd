"""After the read replica failed, one caller at a time tries it again once the pause is over; the
others keep to the primary (a replica host that does not answer costs the connect timeout to one
request, not to every request at that moment)."""

from __future__ import annotations

from perfectorder.adapters.db.replica import ReplicaFirst


def test_one_caller_probes_a_failed_replica_and_the_others_keep_to_the_primary():
    now = [100.0]
    factory = ReplicaFirst(None, None, retry_seconds=10, monotonic=lambda: now[0])  # type: ignore[arg-type]
    assert factory.try_replica() and factory.try_replica()  # healthy: everyone
    factory.replica_failed()
    now[0] += 5
    assert not factory.try_replica()  # within the pause: nobody
    now[0] += 6
    assert factory.try_replica()  # the pause is over: one caller probes...
    assert not factory.try_replica()  # ...and the others do not, while it does
    factory.replica_failed()  # the probe failed: another pause
    now[0] += 1
    assert not factory.try_replica()
    now[0] += 10
    assert factory.try_replica()
    factory.replica_answered()  # it answered: everyone again
    assert factory.try_replica() and factory.try_replica()
