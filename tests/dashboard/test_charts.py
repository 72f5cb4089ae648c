"""The Charts page's geometry: buckets, scales and coordinates, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from billpay.dashboard.trends.charts import (
    BOTTOM,
    HEIGHT,
    LEFT,
    MAX_BUCKETS,
    RIGHT,
    TOP,
    WIDTH,
    Buckets,
    Measure,
    Series,
    buckets_for,
    floor_to,
    in_buckets,
    line_chart,
    nice_ceiling,
    step_label,
    x_tick_indices,
    y_scale,
)

NOW = datetime(2026, 12, 3, 7, 26, 19, tzinfo=UTC)
HOUR = timedelta(hours=1)


def hourly(count: int = 4) -> Buckets:
    return Buckets(first=datetime(2026, 12, 3, 4, tzinfo=UTC), step=HOUR, count=count)


def series(*values: float | None, key: str = "airtime", slot: int = 0) -> Series:
    return Series(key=key, label=key, values=tuple(values), slot=slot)


def test_a_day_is_hourly_buckets_on_the_hour_covering_now() -> None:
    buckets = buckets_for(NOW - timedelta(hours=24), NOW)
    assert buckets.step == HOUR
    assert buckets.first == datetime(2026, 12, 2, 7, tzinfo=UTC)
    assert buckets.count == 25  # the first and the last hour are partly outside the window
    assert buckets.index(NOW) == 24
    assert buckets.index(NOW - timedelta(hours=24)) == 0
    assert buckets.index(buckets.first - timedelta(microseconds=1)) is None
    assert buckets.index(buckets.end) is None


@pytest.mark.parametrize(
    ("window", "step"),
    [
        (timedelta(hours=1), timedelta(minutes=2)),
        (timedelta(hours=6), timedelta(minutes=15)),
        (timedelta(days=7), timedelta(hours=6)),
        (timedelta(days=30), timedelta(days=1)),
        (timedelta(days=90), timedelta(days=3)),
        (timedelta(seconds=30), timedelta(minutes=1)),
    ],
)
def test_the_step_is_the_finest_that_keeps_the_chart_readable(
    window: timedelta, step: timedelta
) -> None:
    buckets = buckets_for(NOW - window, NOW)
    assert buckets.step == step
    assert buckets.count <= MAX_BUCKETS + 1
    assert buckets.first <= NOW - window < buckets.first + step
    assert buckets.end - step <= NOW < buckets.end


def test_buckets_sit_on_whole_steps_from_the_epoch_in_utc() -> None:
    quarter = timedelta(minutes=15)
    assert floor_to(datetime(2026, 12, 3, 7, 29, 59, tzinfo=UTC), quarter) == datetime(
        2026, 12, 3, 7, 15, tzinfo=UTC
    )
    half_past_one_in_lagos = datetime(2026, 12, 3, 1, 30, tzinfo=ZoneInfo("Africa/Lagos"))
    assert floor_to(half_past_one_in_lagos, timedelta(days=1)) == datetime(2026, 12, 3, tzinfo=UTC)


def test_values_land_in_their_bucket_and_the_rest_are_filled() -> None:
    buckets = hourly()
    found = {
        datetime(2026, 12, 3, 5, tzinfo=UTC): 3.0,
        datetime(2026, 12, 3, 7, tzinfo=UTC): 1.0,
        datetime(2026, 12, 3, 9, tzinfo=UTC): 8.0,  # past the last bucket: dropped
    }
    assert in_buckets(buckets, found, 0.0) == (0.0, 3.0, 0.0, 1.0)
    assert in_buckets(buckets, found, None) == (None, 3.0, None, 1.0)


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0.3, 0.5), (1, 1), (1.2, 2), (2.2, 2.5), (7, 10), (308.5, 500)]
)
def test_a_nice_ceiling_is_one_two_two_and_a_half_or_five_times_a_power_of_ten(
    value: float, ceiling: float
) -> None:
    assert nice_ceiling(value) == pytest.approx(ceiling)


def test_scales_start_at_zero_and_end_on_a_tick_at_or_above_the_highest_value() -> None:
    assert y_scale(Measure.COUNT, 7) == (8, [0, 2, 4, 6, 8])
    assert y_scale(Measure.COUNT, 3) == (3, [0, 1, 2, 3])  # whole payments, never 0.75
    assert y_scale(Measure.COUNT, 0) == (1, [0, 1])
    assert y_scale(Measure.MILLISECONDS, 1234) == (1500, [0, 500, 1000, 1500])
    assert y_scale(Measure.RATE, 0.3) == (1.0, [0, 0.25, 0.5, 0.75, 1.0])


def test_each_value_is_drawn_at_its_bucket_middle_and_height() -> None:
    chart = line_chart("Payments", "payments", Measure.COUNT, hourly(), [series(0, 4, 2, 1)])
    [line] = chart.lines
    plot_width = WIDTH - LEFT - RIGHT
    assert [p.x for p in line.points] == [
        pytest.approx(LEFT + plot_width * (i + 0.5) / 4, abs=0.1) for i in range(4)
    ]
    assert [p.y for p in line.points] == [
        HEIGHT - BOTTOM,
        TOP,
        pytest.approx((TOP + HEIGHT - BOTTOM) / 2, abs=0.1),
        pytest.approx(HEIGHT - BOTTOM - (HEIGHT - BOTTOM - TOP) / 4, abs=0.1),
    ]
    assert line.paths == ("M" + " L".join(f"{p.x:g} {p.y:g}" for p in line.points),)
    assert line.points[1].title == "airtime, 05:00: 4"
    assert [t.label for t in chart.y_ticks] == ["0", "1", "2", "3", "4"]
    assert chart.y_ticks[-1].position == TOP
    assert not chart.empty


def test_a_bucket_with_nothing_measured_breaks_the_line() -> None:
    chart = line_chart(
        "Success", "success rate", Measure.RATE, hourly(5), [series(1.0, 0.5, None, 0.25, 1.0)]
    )
    [line] = chart.lines
    assert len(line.points) == 4
    assert len(line.paths) == 2
    assert all(path.count("L") == 1 for path in line.paths)
    assert chart.rows()[1] == ("05:00", ["50.0%"])
    assert chart.rows()[2] == ("06:00", ["—"])


def test_a_lone_value_is_a_point_without_a_path() -> None:
    chart = line_chart("Latency", "ms", Measure.MILLISECONDS, hourly(3), [series(None, 250, None)])
    [line] = chart.lines
    assert line.paths == ()
    assert [p.title for p in line.points] == ["airtime, 05:00: 250 ms"]


def test_nothing_measured_is_an_empty_chart_but_zero_percent_is_not() -> None:
    buckets = hourly(3)
    no_payments = line_chart("Payments", "payments", Measure.COUNT, buckets, [series(0, 0, 0)])
    no_series = line_chart("Payments", "payments", Measure.COUNT, buckets, [])
    no_rates = line_chart("Success", "rate", Measure.RATE, buckets, [series(None, None, None)])
    all_failed = line_chart("Success", "rate", Measure.RATE, buckets, [series(None, 0.0, None)])
    assert (no_payments.empty, no_series.empty, no_rates.empty) == (True, True, True)
    assert not all_failed.empty
    assert all_failed.lines[0].points[0].y == HEIGHT - BOTTOM


def test_series_keep_their_slot_colour_and_dash() -> None:
    chart = line_chart(
        "Attempts",
        "attempts",
        Measure.COUNT,
        hourly(2),
        [series(1, 2, key="vtpass", slot=0), series(2, 1, key="interswitch", slot=2)],
    )
    first, third = chart.lines
    assert first.color != third.color
    assert first.dash != third.dash
    alone = line_chart(
        "Attempts", "attempts", Measure.COUNT, hourly(2), [series(2, 1, key="interswitch", slot=2)]
    )
    assert (alone.lines[0].color, alone.lines[0].dash) == (third.color, third.dash)


def test_the_description_says_the_span_and_each_line_in_words() -> None:
    chart = line_chart(
        "Payments by bill type",
        "payments",
        Measure.COUNT,
        hourly(),
        [series(1, 2, 0, 3), series(0, 0, 0, 0, key="data")],
    )
    assert chart.description == (
        "Payments by bill type, per hour from 03 Dec 04:00 to 03 Dec 08:00 UTC. "
        "airtime: 6 in all. data: 0 in all."
    )
    rates = line_chart("Success", "rate", Measure.RATE, hourly(3), [series(0.5, None, 1.0)])
    assert rates.description.endswith("airtime: from 50.0% to 100.0%, latest 100.0%.")


def test_time_ticks_carry_the_date_where_the_day_changes() -> None:
    day = line_chart("Payments", "payments", Measure.COUNT, buckets_for(NOW - HOUR * 24, NOW), [])
    assert [(t.label, t.under) for t in day.x_ticks] == [
        ("07:00", "02 Dec"),
        ("13:00", ""),
        ("19:00", ""),
        ("01:00", "03 Dec"),
        ("07:00", ""),
    ]
    assert day.times[0] == "02 Dec 07:00"  # the data table names each bucket in full
    hour = line_chart("Payments", "payments", Measure.COUNT, buckets_for(NOW - HOUR, NOW), [])
    assert [t.under for t in hour.x_ticks] == ["03 Dec", "", "", "", ""]
    assert hour.times[0] == "06:26"
    month = buckets_for(NOW - timedelta(days=30), NOW)
    days = line_chart("Payments", "payments", Measure.COUNT, month, [])
    assert (days.x_ticks[-1].label, days.x_ticks[-1].under, days.times[-1]) == (
        "03 Dec",
        "",
        "03 Dec",
    )


def test_time_ticks_are_spread_evenly_and_include_both_ends() -> None:
    assert x_tick_indices(25) == [0, 6, 12, 18, 24]
    assert x_tick_indices(31) == [0, 8, 15, 22, 30]
    assert x_tick_indices(3) == [0, 1, 2]
    assert x_tick_indices(1) == [0]


@pytest.mark.parametrize(
    ("step", "label"),
    [
        (timedelta(minutes=15), "15 min"),
        (HOUR, "hour"),
        (timedelta(hours=6), "6 hours"),
        (timedelta(days=1), "day"),
        (timedelta(days=3), "3 days"),
    ],
)
def test_steps_are_named_for_people(step: timedelta, label: str) -> None:
    assert step_label(step) == label
