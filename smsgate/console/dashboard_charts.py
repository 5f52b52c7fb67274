"""Server-side SVG bar charts for the dashboard, laid out here and drawn by html/admin/bar_chart.html.

Every chart has the same width whatever its number of bars (two fit side by side at 1366 px), bars
are between MIN_SLOT and MAX_SLOT wide, and each bar and segment links to the messages behind it.
"""

from collections.abc import Callable
from dataclasses import dataclass

from smsgate.statuses import Status

# One colour per status, told apart at a glance: green delivered, blue sent, amber in flight, red failed.
STATUS_COLOURS = {
    Status.SCHEDULED: "#7e57c2", Status.QUEUED: "#90a4ae", Status.SENDING: "#f9a825", Status.SENT: "#1e88e5",
    Status.DELIVERED: "#2e7d32", Status.UNDELIVERED: "#ef6c00", Status.FAILED: "#c62828",
    Status.EXPIRED: "#8d6e63", Status.CANCELLED: "#424242",
}
SERIES_COLOURS = {**STATUS_COLOURS, "accepted": "#2e7d32", "failed attempts": "#c62828"}
DEFAULT_COLOUR = "#1565c0"
LEFT_MARGIN = 44  # room for the scale
PLOT_WIDTH = 420
MAX_SLOT = 48
LABEL_ROOM = 56  # below the bars, for the slanted labels
NO_DATA = "no receipts"


@dataclass
class Segment:
    series: str
    value: float
    y: float
    height: float
    colour: str
    url: str | None


@dataclass
class Bar:
    label: str
    total: float | None  # None: nothing to measure (see BarChart.empty_note)
    x: float
    segments: list
    url: str | None


@dataclass
class BarChart:
    """A stacked bar chart laid out in SVG user units."""

    chart_id: str
    title: str
    bars: list
    series: list
    height: int
    bar_width: float
    unit: str = ""
    empty_note: str = NO_DATA  # written in place of a bar whose value is None

    width = LEFT_MARGIN + PLOT_WIDTH + 8

    @property
    def legend(self) -> list[tuple[str, str]]:
        return [(name, SERIES_COLOURS.get(name, DEFAULT_COLOUR)) for name in self.series]

    @property
    def peak(self) -> float:
        return max((bar.total or 0 for bar in self.bars), default=0)

    @property
    def bar_centre(self) -> float:
        return round(self.bar_width / 2, 2)

    @property
    def svg_height(self) -> int:
        return self.height + LABEL_ROOM


Links = Callable[[str, str | None], str | None]


def bar_chart(chart_id: str, title: str, data: dict, unit: str = "", height: int = 180,
              links: Links | None = None, empty_note: str = NO_DATA) -> BarChart:
    """Lay out {label: {series: value}}, {label: value} or {label: None} as stacked bars scaled to the tallest.

    links(label, series) gives the URL of a segment; links(label, None) that of the whole bar.
    """
    links = links or (lambda label, series: None)
    stacked = {label: value if isinstance(value, dict) or value is None else {title: value}
               for label, value in data.items()}
    series = sorted({name for values in stacked.values() if values for name in values})
    peak = max((sum(values.values()) for values in stacked.values() if values), default=0) or 1
    slot = min(MAX_SLOT, PLOT_WIDTH / max(len(stacked), 1))
    bars = []
    for index, (label, values) in enumerate(stacked.items()):
        top = height
        segments = []
        for name in series if values else []:
            value = values.get(name, 0)
            if not value:
                continue
            segment_height = height * value / peak
            top -= segment_height
            segments.append(Segment(name, value, round(top, 2), round(segment_height, 2),
                                    SERIES_COLOURS.get(name, DEFAULT_COLOUR), links(label, name)))
        total = None if values is None else round(sum(values.values()), 2)
        bars.append(Bar(str(label), total, round(index * slot + LEFT_MARGIN, 2), segments, links(label, None)))
    return BarChart(chart_id, title, bars, series, height, round(slot * 0.75, 2), unit, empty_note)
