"""Backoff: exponential with full jitter, capped, Retry-After as a floor, horizon over a day."""

from datetime import timedelta

from django.utils import timezone

from mlconnector.pipeline.backoff import gives_up, retry_delay


def test_it_grows_exponentially_within_the_cap(settings):
    settings.MLCONNECTOR_RETRY_BASE_SECONDS = 30
    settings.MLCONNECTOR_RETRY_CAP_SECONDS = 3600
    for attempt, ceiling in [(1, 30), (2, 60), (3, 120), (8, 3600), (20, 3600)]:
        delays = [retry_delay(attempt) for _ in range(200)]
        assert all(1 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # full jitter reaches near the ceiling


def test_it_never_retries_sooner_than_retry_after():
    assert all(retry_delay(1, retry_after=90) >= 90 for _ in range(50))


def test_it_gives_up_only_after_the_horizon(settings):
    now = timezone.now()
    horizon = timedelta(seconds=settings.MLCONNECTOR_RETRY_HORIZON_SECONDS)
    assert not gives_up(now - horizon + timedelta(minutes=1), 10, now)
    assert gives_up(now - horizon, 10, now)
    assert gives_up(now, settings.MLCONNECTOR_MAX_ATTEMPTS, now)
