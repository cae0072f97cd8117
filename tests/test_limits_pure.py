"""Pure pieces of the limiter, driven by a fake clock (no network, no sleeping)."""

from __future__ import annotations

import threading

import pytest

from b24nb.errors import (
    AuthError,
    ExpiredTokenError,
    NetworkError,
    OperationTimeLimitError,
    OutcomeUnknownError,
    OverloadError,
    PortalError,
    QueryLimitError,
    ServerError,
    error_from_response,
)
from b24nb.limits import Limiter, OperatingBudget, TokenBucket, retry_delay


class FakeClock:
    """Time moves only when someone sleeps; every sleep is recorded."""

    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def time(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.t += seconds


def test_bucket_lets_the_burst_through_then_paces_at_the_drain_rate():
    clock = FakeClock()
    bucket = TokenBucket(50, 2.0, clock, margin=2.0, rate_factor=1.0)
    waits = [bucket.reserve() for _ in range(48)]
    assert waits == [0.0] * 48
    # the 49th and later requests are booked half a second apart (2/s)
    assert bucket.reserve() == pytest.approx(0.5)
    assert bucket.reserve() == pytest.approx(1.0)


def test_bucket_drains_while_time_passes():
    clock = FakeClock()
    bucket = TokenBucket(10, 2.0, clock, margin=0.0, rate_factor=1.0)
    for _ in range(10):
        bucket.reserve()
    clock.t += 5.0  # 10 requests drained
    assert bucket.reserve() == 0.0


def test_bucket_counts_before_send_so_concurrent_threads_cannot_overrun_it():
    clock = FakeClock()
    bucket = TokenBucket(50, 2.0, clock, margin=2.0, rate_factor=1.0)
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        w = bucket.reserve()
        with lock:
            waits.append(w)

    threads = [threading.Thread(target=worker) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(1 for w in waits if w == 0.0) == 48
    assert max(waits) == pytest.approx(52 / 2.0)


def test_bucket_saturate_after_a_503_paces_the_next_request():
    clock = FakeClock()
    bucket = TokenBucket(50, 2.0, clock, margin=2.0, rate_factor=1.0)
    bucket.saturate()
    assert bucket.reserve() == pytest.approx(0.5)


def test_operating_budget_reads_operating_as_a_gauge_not_a_sum():
    clock = FakeClock(1000.0)
    budget = OperatingBudget(clock, limit=480.0, margin=10.0)
    budget.observe("crm.deal.list", {"operating": 300.0, "operating_reset_at": 1300})
    budget.observe("crm.deal.list", {"operating": 301.0, "operating_reset_at": 1300})
    assert budget.operating("crm.deal.list") == 301.0  # fast_bitrix24 would say 601
    assert budget.wait(["crm.deal.list"]) == 0.0


def test_operating_budget_waits_until_reset_near_the_limit():
    clock = FakeClock(1000.0)
    budget = OperatingBudget(clock, limit=480.0, margin=10.0)
    budget.observe("crm.deal.list", {"operating": 475.0, "operating_reset_at": 1042})
    assert budget.wait(["crm.deal.list"]) == pytest.approx(43.0)
    assert budget.wait(["sale.order.list"]) == 0.0  # other methods are not held


def test_operating_budget_block_after_429_uses_last_known_reset():
    clock = FakeClock(1000.0)
    budget = OperatingBudget(clock, limit=480.0)
    budget.observe("crm.deal.list", {"operating": 10.0, "operating_reset_at": 1100})
    budget.block("crm.deal.list")
    assert budget.wait(["crm.deal.list"]) == pytest.approx(101.0)


def test_operating_budget_ignores_answers_without_operating():
    budget = OperatingBudget(FakeClock())
    budget.observe("batch", {"start": 1, "finish": 2})
    budget.observe("batch", None)
    assert budget.operating("batch") == 0.0


@pytest.mark.parametrize(
    ("error", "attempt", "expected"),
    [
        (QueryLimitError("QUERY_LIMIT_EXCEEDED", status=503), 0, 0.5),
        (QueryLimitError("QUERY_LIMIT_EXCEEDED", status=503), 3, 4.0),
        (QueryLimitError("QUERY_LIMIT_EXCEEDED", status=503), 10, 30.0),
        (QueryLimitError("QUERY_LIMIT_EXCEEDED", status=503), 12, None),
        (OperationTimeLimitError("OPERATION_TIME_LIMIT", status=429), 0, 1.0),
        (ServerError("INTERNAL_SERVER_ERROR", status=500), 1, 1.0),
        (ServerError("INTERNAL_SERVER_ERROR", status=500), 6, None),
        (NetworkError("CONNECTION_ERROR"), 0, 0.5),
        (OverloadError("OVERLOAD_LIMIT", status=503), 0, None),
        (ExpiredTokenError("expired_token", status=401), 0, None),
        (AuthError("INVALID_CREDENTIALS", status=401), 0, None),
        (OutcomeUnknownError("CONNECTION_ERROR"), 0, None),
        (PortalError("", "Access denied.", status=400), 0, None),
        (error_from_response("201650000001", status=400), 0, None),
    ],
)
def test_retry_delay_table(error, attempt, expected):
    got = retry_delay(error, attempt, jitter=0.5)  # jitter 0.5 → factor 1.0
    assert got == (pytest.approx(expected) if expected is not None else None)


def test_retry_delay_jitter_spreads_threads_apart():
    e = QueryLimitError("QUERY_LIMIT_EXCEEDED", status=503)
    assert retry_delay(e, 2, jitter=0.0) < retry_delay(e, 2, jitter=0.99)


def test_limiter_is_the_one_that_sleeps_and_tells_listeners():
    clock = FakeClock(1000.0)
    limiter = Limiter(clock=clock, rng=lambda: 0.5)
    heard: list[tuple[float, str]] = []
    limiter.add_listener(lambda s, why: heard.append((s, why)))
    limiter.observe("crm.deal.list", {"operating": 478.0, "operating_reset_at": 1030})
    limiter.before_send(["crm.deal.list"])
    assert clock.sleeps == [pytest.approx(31.0)]
    assert heard
    assert "operating-time" in heard[0][1]
    assert limiter.waited_seconds == pytest.approx(31.0)


def test_limiter_backoff_gives_up_when_retry_delay_says_so():
    clock = FakeClock()
    limiter = Limiter(clock=clock, rng=lambda: 0.5)
    assert limiter.backoff(ServerError("X", status=500), 0) is True
    assert limiter.backoff(AuthError("INVALID_CREDENTIALS"), 0) is False
    assert clock.sleeps == [pytest.approx(0.5)]


def test_limiter_rejects_unknown_plan():
    with pytest.raises(ValueError, match="plan"):
        Limiter(plan="gold")


def test_operating_budget_block_without_known_reset_asks_again_soon():
    clock = FakeClock(1000.0)
    budget = OperatingBudget(clock, limit=480.0, slice_=10.0)
    budget.block("crm.orderentity.add")
    assert budget.wait(["crm.orderentity.add"]) == pytest.approx(11.0)
