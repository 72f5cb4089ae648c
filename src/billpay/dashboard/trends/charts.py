"""Line-chart geometry for the dashboard's Charts page: time buckets, scales, SVG coordinates.

Pure: numbers in, shapes out; no database, no markup. The template draws what this computes,
so the maths is tested without a browser.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# Buckets sit on whole multiples of their step since this origin (UTC), as the SQL's
# ``date_bin(step, created_at, ORIGIN)`` puts them: the same bucket on both sides.
ORIGIN = datetime(1970, 1, 1, tzinfo=UTC)
STEPS = tuple(
    timedelta(minutes=minutes)
    for minutes in (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 4320, 10080)
)
MAX_BUCKETS = 36  # enough points to show a trend, few enough to read each one

WIDTH, HEIGHT = 480, 260
# Room for the y labels, and under the plot two lines of time labels and the axis's name
# (at the larger type a phone gets).
LEFT, RIGHT, TOP, BOTTOM = 62, 22, 12, 56
Y_TICKS = 4
X_TICKS = 5

# Okabe–Ito colours (safe for colour-blind readers), each with its own dash so that
# series differ by more than colour.
PALETTE = (
    ("#0072b2", ""),
    ("#d55e00", "6 3"),
    ("#009e73", "2 3"),
    ("#cc79a7", "8 3 2 3"),
    ("#e69f00", "4 4"),
    ("#56b4e9", "1 2"),
    ("#000000", "10 4"),
)


class Measure(enum.Enum):
    """What a chart's values are: how its axis is scaled and its values are written."""

    COUNT = "count"
    RATE = "rate"  # 0..1, written as a percentage
    MILLISECONDS = "ms"


@dataclass(frozen=True)
class Buckets:
    """``count`` consecutive time buckets of ``step``, the first starting at ``first``."""

    first: datetime
    step: timedelta
    count: int

    @property
    def starts(self) -> list[datetime]:
        return [self.first + self.step * index for index in range(self.count)]

    @property
    def end(self) -> datetime:
        return self.first + self.step * self.count

    def index(self, moment: datetime) -> int | None:
        """The bucket ``moment`` falls in, or None outside them all."""
        position = (moment - self.first) // self.step
        return position if 0 <= position < self.count else None


def floor_to(moment: datetime, step: timedelta) -> datetime:
    return ORIGIN + step * ((moment - ORIGIN) // step)


def buckets_for(since: datetime, now: datetime) -> Buckets:
    """The finest step that shows ``since``..``now`` in at most ``MAX_BUCKETS`` buckets (the
    coarsest step beyond that), the first and last partly outside the window."""
    window = now - since
    step = next((s for s in STEPS if window / s <= MAX_BUCKETS - 1), STEPS[-1])
    first = floor_to(since, step)
    return Buckets(first=first, step=step, count=(floor_to(now, step) - first) // step + 1)


def step_label(step: timedelta) -> str:
    """``timedelta(minutes=15)`` → ``15 min``; one hour → ``hour``; two days → ``2 days``."""
    minutes = int(step.total_seconds() // 60)
    for unit, size in (("day", 1440), ("hour", 60)):
        if minutes % size == 0:
            count = minutes // size
            return unit if count == 1 else f"{count} {unit}s"
    return f"{minutes} min"


@dataclass(frozen=True)
class Series:
    """One line: a value per bucket; None where there was nothing to measure (a gap).
    ``slot`` picks its colour and dash, so a provider looks the same on every chart."""

    key: str
    label: str
    values: tuple[float | None, ...]
    slot: int


def in_buckets(
    buckets: Buckets, found: Mapping[datetime, float], missing: float | None
) -> tuple[float | None, ...]:
    """The values of ``found`` (bucket start → value) in bucket order, ``missing`` where a
    bucket has none; values outside the buckets are dropped."""
    values = [missing] * buckets.count
    for start, value in found.items():
        index = buckets.index(start)
        if index is not None:
            values[index] = value
    return tuple(values)


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above ``value`` (``value`` > 0)."""
    magnitude = 10.0 ** math.floor(math.log10(value))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= value * (1 - 1e-9))


def y_scale(measure: Measure, highest: float) -> tuple[float, list[float]]:
    """The axis top and its tick values, from 0: rates always 0–100 %; counts in whole steps."""
    if measure is Measure.RATE:
        return 1.0, [index / Y_TICKS for index in range(Y_TICKS + 1)]
    tick = nice_ceiling(highest / Y_TICKS) if highest > 0 else 1.0
    if measure is Measure.COUNT:
        tick = max(1.0, math.ceil(tick))
    top = tick * max(1, math.ceil(highest / tick - 1e-9))
    return top, [tick * index for index in range(round(top / tick) + 1)]


def format_value(measure: Measure, value: float) -> str:
    if measure is Measure.RATE:
        return f"{value * 100:.1f}%"
    if measure is Measure.MILLISECONDS:
        return f"{value:,.0f} ms"
    return f"{value:,.0f}"


def _axis_label(measure: Measure, value: float) -> str:
    """Tick labels are short: ``50%``, ``1.5k``."""
    if measure is Measure.RATE:
        return f"{value * 100:.0f}%"
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def time_label(moment: datetime, step: timedelta, spans_days: bool) -> str:
    if step >= timedelta(days=1):
        return moment.strftime("%d %b")
    return moment.strftime("%d %b %H:%M" if spans_days else "%H:%M")


@dataclass(frozen=True)
class Tick:
    position: float  # x for the time axis, y for the value axis
    label: str
    under: str = ""  # a time tick's date, on a second line where the day changes


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str  # what a pointer hovering it reads: "airtime, 07:00: 12"


@dataclass(frozen=True)
class Line:
    key: str
    label: str
    color: str
    dash: str
    values: tuple[float | None, ...]
    paths: tuple[str, ...]  # one SVG path per unbroken run of values
    points: tuple[Point, ...]


@dataclass(frozen=True)
class LineChart:
    title: str
    description: str
    y_label: str
    measure: Measure
    width: int
    height: int
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    lines: tuple[Line, ...]
    times: tuple[str, ...]  # each bucket's start, for the data table
    empty: bool  # nothing measured: the page says so instead of drawing axes around nothing

    def rows(self) -> list[tuple[str, list[str]]]:
        """The chart as a table: a row per bucket, a column per line (``—`` for a gap)."""
        return [
            (time, [self.value_text(line.values[index]) for line in self.lines])
            for index, time in enumerate(self.times)
        ]

    def value_text(self, value: float | None) -> str:
        return "—" if value is None else format_value(self.measure, value)


def line_chart(
    title: str, y_label: str, measure: Measure, buckets: Buckets, series: Sequence[Series]
) -> LineChart:
    """A chart of ``series`` over ``buckets``: each bucket's value at the bucket's middle."""
    measured = [v for s in series for v in s.values if v is not None]
    top, tick_values = y_scale(measure, max(measured, default=0.0))
    plot = _Plot(buckets.count, top)
    spans_days = buckets.end - buckets.first > timedelta(days=1)
    times = tuple(time_label(start, buckets.step, spans_days) for start in buckets.starts)
    lines = tuple(_line(s, plot, measure, times) for s in series)
    return LineChart(
        title=title,
        description=_description(title, measure, buckets, series),
        y_label=y_label,
        measure=measure,
        width=WIDTH,
        height=HEIGHT,
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        plot_top=TOP,
        plot_bottom=HEIGHT - BOTTOM,
        x_ticks=time_ticks(buckets, plot),
        y_ticks=tuple(Tick(plot.y(value), _axis_label(measure, value)) for value in tick_values),
        lines=lines,
        times=times,
        empty=not measured or (measure is Measure.COUNT and not any(measured)),
    )


@dataclass(frozen=True)
class _Plot:
    """Value → SVG coordinates inside the plot area."""

    count: int
    top_value: float

    def x(self, index: int) -> float:
        width = WIDTH - LEFT - RIGHT
        return round(LEFT + width * (index + 0.5) / self.count, 1)

    def y(self, value: float) -> float:
        height = HEIGHT - TOP - BOTTOM
        return round(HEIGHT - BOTTOM - height * value / self.top_value, 1)


def x_tick_indices(count: int) -> list[int]:
    """Evenly spread buckets to label, first and last included."""
    wanted = min(count, X_TICKS)
    if wanted <= 1:
        return [0] if count else []
    return sorted({round(i * (count - 1) / (wanted - 1)) for i in range(wanted)})


def time_ticks(buckets: Buckets, plot: _Plot) -> tuple[Tick, ...]:
    """Short labels: the time, with the date under it at the first tick and where the day
    changes; only the date when buckets are days."""
    ticks: list[Tick] = []
    shown_day = None
    for index in x_tick_indices(buckets.count):
        start = buckets.starts[index]
        if buckets.step >= timedelta(days=1):
            ticks.append(Tick(plot.x(index), start.strftime("%d %b")))
            continue
        day = start.strftime("%d %b")
        ticks.append(Tick(plot.x(index), start.strftime("%H:%M"), "" if day == shown_day else day))
        shown_day = day
    return tuple(ticks)


def _line(series: Series, plot: _Plot, measure: Measure, times: Sequence[str]) -> Line:
    color, dash = PALETTE[series.slot % len(PALETTE)]
    points: list[Point] = []
    runs: list[list[Point]] = [[]]
    for bucket, value in enumerate(series.values):
        if value is None:
            runs.append([])
            continue
        point = Point(
            plot.x(bucket),
            plot.y(value),
            f"{series.label}, {times[bucket]}: {format_value(measure, value)}",
        )
        points.append(point)
        runs[-1].append(point)
    return Line(
        key=series.key,
        label=series.label,
        color=color,
        dash=dash,
        values=series.values,
        paths=tuple(_path(run) for run in runs if len(run) > 1),
        points=tuple(points),
    )


def _path(run: Sequence[Point]) -> str:
    return " ".join(f"{'M' if i == 0 else 'L'}{p.x:g} {p.y:g}" for i, p in enumerate(run))


def _description(title: str, measure: Measure, buckets: Buckets, series: Sequence[Series]) -> str:
    """What a screen reader hears instead of the drawing: the span, then each line in brief."""
    span = (
        f"{title}, per {step_label(buckets.step)} from {buckets.first:%d %b %H:%M} "
        f"to {buckets.end:%d %b %H:%M} UTC."
    )
    return " ".join([span, *(_summary(measure, s) for s in series)])


def _summary(measure: Measure, series: Series) -> str:
    measured = [v for v in series.values if v is not None]
    if not measured:
        return f"{series.label}: nothing measured."
    if measure is Measure.COUNT:
        return f"{series.label}: {format_value(measure, sum(measured))} in all."
    low, high, last = min(measured), max(measured), measured[-1]
    return (
        f"{series.label}: from {format_value(measure, low)} to {format_value(measure, high)},"
        f" latest {format_value(measure, last)}."
    )
