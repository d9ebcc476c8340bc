"""The audit's pictures as inline SVG: hotspots, knowledge per package, coupled pairs.

Built from numbers and escaped names only, so they can be inlined in the self-contained page.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from markupsafe import Markup

from proofwork.reports.charts import FONT, nice_top

WIDTH, HEIGHT = 720, 340
LEFT, RIGHT, TOP, BOTTOM = 56, 24, 28, 44
HOT = "#cf222e"
COOL = "#0969da"
RISK = "#bc4c00"
SAFE = "#1a7f37"


def _svg(label: str, height: int, parts: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'style="max-width:{WIDTH}px" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>"
    )
    return Markup(head + "\n".join(parts) + "</svg>")  # noqa: S704 - numbers and escaped names


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 1 else f"{value:.2g}"


def hotspot_chart(files: list[dict[str, Any]], hotspots: list[dict[str, Any]]) -> Markup | None:
    """Change frequency against complexity, one circle a file sized by its lines; hotspots red."""
    points = [f for f in files if f["complexity"] is not None and f["changes"]]
    if not points:
        return None
    hot = {h["path"] for h in hotspots[:5]}
    x_top = nice_top(max(p["changes"] for p in points) * 1.05)
    y_top = nice_top(max(p["complexity"] for p in points) * 1.05)
    most_lines = max(p["lines"] or 1 for p in points)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(value: float) -> float:
        return LEFT + inner_w * value / x_top

    def y(value: float) -> float:
        return TOP + inner_h * (1 - value / y_top)

    parts = _axes(x_top, y_top, x, y, "changes in the window", "complexity (sum of cyclomatic)")
    for point in sorted(points, key=lambda p: -(p["lines"] or 0)):
        radius = 3 + 17 * math.sqrt((point["lines"] or 1) / most_lines)
        colour = HOT if point["path"] in hot else COOL
        parts.append(
            f'<circle cx="{x(point["changes"]):.1f}" cy="{y(point["complexity"]):.1f}" '
            f'r="{radius:.1f}" fill="{colour}" fill-opacity="0.35" stroke="{colour}">'
            f"<title>{escape(point['path'])}: {point['changes']} changes, complexity "
            f"{point['complexity']}, {point['lines']} lines</title></circle>"
        )
    for spot in hotspots[:5]:
        parts.append(
            f'<text x="{x(spot["changes"]) + 6:.1f}" y="{y(spot["complexity"]) - 6:.1f}" '
            f"{FONT}>{escape(_short(spot['path']))}</text>"
        )
    return _svg("Hotspots: change frequency against complexity", HEIGHT, parts)


def _axes(x_top: float, y_top: float, x: Any, y: Any, x_label: str, y_label: str) -> list[str]:
    bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT
    parts = [
        f'<line x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#a0aec0"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#a0aec0"/>',
    ]
    for fraction in (0.25, 0.5, 0.75, 1):
        parts.append(
            f'<line x1="{LEFT}" y1="{y(y_top * fraction):.1f}" x2="{right}" '
            f'y2="{y(y_top * fraction):.1f}" stroke="#edf2f7"/>'
        )
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        parts.append(
            f'<text x="{LEFT - 6}" y="{y(y_top * fraction) + 4:.1f}" text-anchor="end" {FONT}>'
            f"{_number(y_top * fraction)}</text>"
        )
        parts.append(
            f'<text x="{x(x_top * fraction):.1f}" y="{bottom + 16}" text-anchor="middle" {FONT}>'
            f"{_number(x_top * fraction)}</text>"
        )
    parts.append(
        f'<text x="{(LEFT + right) / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" {FONT}>'
        f"{x_label}</text>"
    )
    parts.append(f'<text x="8" y="{TOP - 12}" {FONT}>{y_label}</text>')
    return parts


def _short(path: str, limit: int = 32) -> str:
    return path if len(path) <= limit else "…" + path[-(limit - 1) :]


ROW = 26


def knowledge_chart(packages: list[dict[str, Any]]) -> Markup | None:
    """Truck factor per top-level package, as bars; a bar at 1 is a single point of failure."""
    rows = sorted((p for p in packages if p["files"]), key=lambda p: (p["value"], -p["files"]))
    rows = rows[:15]
    if not rows:
        return None
    top = max(2, max(p["value"] for p in rows))
    label_w, height = 160, TOP + ROW * len(rows) + 30
    inner = WIDTH - label_w - RIGHT - 300  # room for the figures and names after the bar
    parts = [f'<text x="{label_w}" y="{TOP - 10}" {FONT}>truck factor (authors to lose)</text>']
    for index, package in enumerate(rows):
        y = TOP + index * ROW
        width = max(2.0, inner * package["value"] / top)
        colour = RISK if package["value"] <= 1 else SAFE
        who = ", ".join(package["authors"][:3]) or "nobody"
        parts += [
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" {FONT}>'
            f"{escape(_short(package['package'] + '/', 28))}</text>",
            f'<rect x="{label_w}" y="{y + 4}" width="{width:.1f}" height="{ROW - 8}" '
            f'fill="{colour}" fill-opacity="0.7"><title>{escape(package["package"])}: truck '
            f"factor {package['value']} over {package['files']} files ({escape(who)})"
            "</title></rect>",
            f'<text x="{label_w + width + 6:.1f}" y="{y + 16}" {FONT}>{package["value"]} · '
            f"{package['files']} files · {escape(_short(who, 34))}</text>",
        ]
    return _svg("Truck factor per top-level package", height, parts)


def coupling_chart(pairs: list[dict[str, Any]]) -> Markup | None:
    """The strongest coupled pairs: a bar for the degree, the shared commits beside it."""
    rows = pairs[:12]
    if not rows:
        return None
    label_w, height = 360, TOP + ROW * len(rows) + 30
    inner = WIDTH - label_w - RIGHT - 90
    parts = [f'<text x="{label_w}" y="{TOP - 10}" {FONT}>coupling degree (%)</text>']
    for index, pair in enumerate(rows):
        y = TOP + index * ROW
        width = inner * pair["degree"] / 100
        names = f"{_short(pair['first'], 26)} ↔ {_short(pair['second'], 26)}"
        parts += [
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" {FONT}>{escape(names)}</text>',
            f'<rect x="{label_w}" y="{y + 4}" width="{width:.1f}" height="{ROW - 8}" '
            f'fill="{COOL}" fill-opacity="0.6"><title>{escape(pair["first"])} and '
            f"{escape(pair['second'])}: {pair['shared']} shared commits, degree "
            f"{pair['degree']}%</title></rect>",
            f'<text x="{label_w + width + 6:.1f}" y="{y + 16}" {FONT}>{pair["degree"]}% · '
            f"{pair['shared']} together</text>",
        ]
    return _svg("Files that change together", height, parts)
