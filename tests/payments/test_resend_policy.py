"""The resend rule as properties (issue #11): a reference the provider has no record of is
never sent again within the grace period, past the deadline, or more than the bound allows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from billpay.payments.attempts.resend import NotFoundStep, ResendPolicy

START = datetime(2026, 12, 1, tzinfo=UTC)
seconds = st.floats(min_value=0, max_value=7 * 24 * 3600, allow_nan=False)
policies = st.builds(
    ResendPolicy,
    grace=seconds.map(lambda s: timedelta(seconds=s)),
    max_resends=st.integers(min_value=0, max_value=5),
)


@given(
    policy=policies,
    sends=st.integers(min_value=0, max_value=10),
    since_send=seconds,
    deadline_in=st.one_of(st.none(), st.floats(min_value=-3600, max_value=7 * 24 * 3600)),
)
def test_a_resend_is_only_ever_after_the_grace_within_the_bound_and_the_deadline(
    policy: ResendPolicy, sends: int, since_send: float, deadline_in: float | None
) -> None:
    now = START + timedelta(seconds=since_send)
    deadline = None if deadline_in is None else now + timedelta(seconds=deadline_in)
    step = policy.after_not_found(sends=sends, last_sent_at=START, now=now, deadline_at=deadline)
    past_deadline = deadline is not None and now >= deadline
    in_bound = sends < 1 + policy.max_resends
    if step is NotFoundStep.RESEND:
        assert now >= START + policy.grace and in_bound and not past_deadline
    if step is NotFoundStep.WAIT:
        assert now < START + policy.grace and in_bound and not past_deadline
    if step is NotFoundStep.REQUERY:
        assert past_deadline or not in_bound


@given(
    policy=policies,
    gaps=st.lists(st.floats(min_value=0, max_value=3600, allow_nan=False), max_size=40),
)
def test_no_record_forever_sends_a_reference_at_most_one_plus_the_bound_times(
    policy: ResendPolicy, gaps: list[float]
) -> None:
    """A provider that never records the reference, asked after any gaps: the sends stop."""
    sends, last_sent_at, now = 1, START, START
    for gap in gaps:
        now += timedelta(seconds=gap)
        step = policy.after_not_found(
            sends=sends, last_sent_at=last_sent_at, now=now, deadline_at=None
        )
        if step is NotFoundStep.RESEND:
            sends, last_sent_at = sends + 1, now
    assert sends <= 1 + policy.max_resends
