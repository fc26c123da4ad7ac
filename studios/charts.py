"""A small server-side SVG bar chart: no JavaScript, no CDN, prints fine."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value_label: str


@dataclass(frozen=True)
class BarChart:
    title: str
    width: int
    height: int
    bars: list[Bar]
    max_label: str  # the highest value, formatted; empty when no value is above zero


def bar_chart(
    title: str, points: list[tuple[str, int]], *, fmt=str, width: int = 560, height: int = 160
) -> BarChart:
    """Lay out bars for (label, value) points; negative values are drawn as zero."""
    peak = max((v for _, v in points), default=0)
    top = max(peak, 1)
    plot_h = height - 28
    step = width / max(len(points), 1)
    bars = []
    for i, (label, value) in enumerate(points):
        h = max(0, value) / top * plot_h
        bars.append(
            Bar(
                x=i * step + 3,
                y=plot_h - h + 8,
                width=step - 6,
                height=h,
                label=label,
                value_label=fmt(value),
            )
        )
    return BarChart(
        title=title, width=width, height=height, bars=bars, max_label=fmt(peak) if peak > 0 else ""
    )
