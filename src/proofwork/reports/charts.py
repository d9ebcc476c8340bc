"""Charts for the HTML report, drawn as small inline SVG: no script, no library, no request.

The load chart reads the `load` probe's `load.steps.json` artifact (written by
`proofwork.probes.load`) and draws, against concurrency on a doubling axis, the latency
percentiles (p50, p95, p99, left axis) and the throughput of good answers (bars, right axis),
with the SLO and the knee marked.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from markupsafe import Markup, escape

from proofwork.evidence import Report

STEPS_ARTIFACT = "load.steps.json"
WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 58, 62, 50, 42  # the legend, then the axis titles, above
LINES = (  # percentile, colour, dash pattern
    ("p50_ms", "#2b6cb0", ""),
    ("p95_ms", "#c05621", ""),
    ("p99_ms", "#9b2c2c", "5 3"),
)
BAR_FILL = "#c6e2d3"
SLO_COLOUR = "#c53030"
FONT = 'font-family="system-ui, sans-serif" font-size="11" fill="#4a5568"'


@dataclass(frozen=True)
class LoadSeries:
    """What the chart needs from the artifact, checked (it is data from the report file)."""

    steps: list[dict[str, float]]
    slo_ms: float | None
    knee: int

    @classmethod
    def parse(cls, text: str) -> LoadSeries | None:
        """The series in `text`, or None when it is missing or malformed."""
        try:
            data = json.loads(text)
            keys = ("concurrency", "throughput_rps", "p50_ms", "p95_ms", "p99_ms")
            steps = [{k: float(s[k]) for k in keys} for s in data["steps"]]
            slo = float(data["slo_p95_ms"]) if data.get("slo_p95_ms") is not None else None
            knee = int(data.get("knee_concurrency") or 0)
        except (ValueError, TypeError, KeyError):
            return None
        if not steps or any(s["concurrency"] < 1 for s in steps):
            return None
        return cls(steps, slo, knee)


def load_series(report: Report) -> LoadSeries | None:
    """The load probe's step series in this report, if it has one."""
    for evidence in report.evidence:
        if evidence.probe == "load" and STEPS_ARTIFACT in evidence.artifacts:
            return LoadSeries.parse(evidence.artifacts[STEPS_ARTIFACT])
    return None


def load_chart(report: Report) -> Markup | None:
    """The latency and throughput chart of the load probe, as inline SVG, or None."""
    series = load_series(report)
    return None if series is None else Markup(_svg(series))  # noqa: S704 - built from numbers


def nice_top(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return float(next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value))


@dataclass(frozen=True)
class _Axes:
    concurrencies: list[float]
    latency_top: float
    rps_top: float

    def x(self, concurrency: float) -> float:
        low, high = math.log2(self.concurrencies[0]), math.log2(self.concurrencies[-1])
        span = (high - low) or 1.0
        inner = WIDTH - LEFT - RIGHT - 40  # room for half a bar at each end
        return LEFT + 20 + inner * (math.log2(concurrency) - low) / span

    def y_latency(self, ms: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - min(ms, self.latency_top) / self.latency_top)

    def y_rps(self, rps: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - rps / self.rps_top)


def _svg(series: LoadSeries) -> str:
    steps = series.steps
    worst = max(s["p99_ms"] for s in steps)
    axes = _Axes(
        concurrencies=[s["concurrency"] for s in steps],
        latency_top=nice_top(max(worst, (series.slo_ms or 0) * 1.2)),
        rps_top=nice_top(max(s["throughput_rps"] for s in steps) * 1.1),
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" style="max-width:{WIDTH}px" role="img" '
        'aria-label="Latency and throughput against concurrency">',
        "<title>Latency percentiles and throughput against concurrency</title>",
        *_bars(steps, axes),
        *_grid(axes),
        *_slo(series.slo_ms, axes),
        *_knee(series.knee, axes),
        *(_line(steps, key, colour, dash, axes) for key, colour, dash in LINES),
        *_legend(),
        "</svg>",
    ]
    return "\n".join(parts)


def _bars(steps: list[dict[str, float]], axes: _Axes) -> list[str]:
    width = min(28.0, (WIDTH - LEFT - RIGHT) / (2 * len(steps)))
    bars = []
    for s in steps:
        x, top = axes.x(s["concurrency"]) - width / 2, axes.y_rps(s["throughput_rps"])
        bars.append(
            f'<rect x="{x:.1f}" y="{top:.1f}" width="{width:.1f}" '
            f'height="{axes.y_rps(0) - top:.1f}" fill="{BAR_FILL}"><title>'
            f"{escape(_fmt(s['throughput_rps']))} good requests/s at concurrency "
            f"{int(s['concurrency'])}</title></rect>"
        )
    return bars


def _grid(axes: _Axes) -> list[str]:
    bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT
    parts = [f'<line x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#a0aec0"/>']
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        y = TOP + (HEIGHT - TOP - BOTTOM) * (1 - fraction)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#edf2f7"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>'
            f"{_fmt(axes.latency_top * fraction)}</text>"
        )
        parts.append(
            f'<text x="{right + 6}" y="{y + 4:.1f}" {FONT}>{_fmt(axes.rps_top * fraction)}</text>'
        )
    for concurrency in axes.concurrencies:
        parts.append(
            f'<text x="{axes.x(concurrency):.1f}" y="{bottom + 16}" text-anchor="middle" {FONT}>'
            f"{int(concurrency)}</text>"
        )
    middle = (LEFT + right) / 2
    parts += [
        f'<text x="{middle:.1f}" y="{HEIGHT - 6}" text-anchor="middle" {FONT}>'
        "concurrent users</text>",
        f'<text x="12" y="{TOP - 14}" {FONT}>latency (ms)</text>',
        f'<text x="{WIDTH - 8}" y="{TOP - 14}" text-anchor="end" {FONT}>good requests/s</text>',
    ]
    return parts


def _slo(slo_ms: float | None, axes: _Axes) -> list[str]:
    if slo_ms is None:
        return []
    y = axes.y_latency(slo_ms)
    return [
        f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
        f'stroke="{SLO_COLOUR}" stroke-dasharray="2 3"/>',
        f'<text x="{LEFT + 4}" y="{y - 4:.1f}" {FONT}>p95 SLO {_fmt(slo_ms)} ms</text>',
    ]


def _knee(knee: int, axes: _Axes) -> list[str]:
    if knee not in axes.concurrencies:
        return []
    x = axes.x(knee)
    return [
        f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}" stroke="#718096" '
        'stroke-dasharray="1 3"/>',
        # Right of the line, or left of it near the right axis (whose labels sit there).
        f'<text x="{x - 4:.1f}" y="{TOP + 10}" text-anchor="end" {FONT}>knee {knee}</text>'
        if x > WIDTH - RIGHT - 60
        else f'<text x="{x + 4:.1f}" y="{TOP + 10}" {FONT}>knee {knee}</text>',
    ]


def _line(steps: list[dict[str, float]], key: str, colour: str, dash: str, axes: _Axes) -> str:
    points = " ".join(f"{axes.x(s['concurrency']):.1f},{axes.y_latency(s[key]):.1f}" for s in steps)
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    dots = "".join(
        f'<circle cx="{axes.x(s["concurrency"]):.1f}" cy="{axes.y_latency(s[key]):.1f}" r="2.5" '
        f'fill="{colour}"><title>{key[:3]} {escape(_fmt(s[key]))} ms at concurrency '
        f"{int(s['concurrency'])}</title></circle>"
        for s in steps
    )
    return (
        f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"{dashes}/>'
        + dots
    )


def _legend() -> list[str]:
    parts, x = [], LEFT
    for key, colour, dash in LINES:
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{x}" y1="12" x2="{x + 18}" y2="12" stroke="{colour}" '
            f'stroke-width="2"{dashes}/>'
        )
        parts.append(f'<text x="{x + 22}" y="16" {FONT}>{key[:3]}</text>')
        x += 62
    parts.append(f'<rect x="{x}" y="6" width="14" height="12" fill="{BAR_FILL}"/>')
    parts.append(f'<text x="{x + 18}" y="16" {FONT}>throughput</text>')
    return parts


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.3g}"
