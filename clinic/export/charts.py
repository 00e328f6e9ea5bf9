"""Small server-side SVG charts, readable without colour (labels and values on every bar)."""

from __future__ import annotations

from markupsafe import Markup, escape

PATTERNS = ["#1f4e79", "#7f6000", "#833c0b", "#385723", "#3f3f3f", "#5b2c6f"]


def bar_chart(
    data: list[tuple[str, int]], title: str, width: int = 520, bar_height: int = 18
) -> Markup:
    """A horizontal bar chart: one labelled bar per (label, value), value printed at its end."""
    label_width = 170
    top = 24
    height = top + len(data) * (bar_height + 6) + 6
    peak = max((v for _, v in data), default=0) or 1
    span = width - label_width - 50
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">'
        ),
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="14" font-size="12" font-weight="bold" fill="#000">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(data):
        y = top + i * (bar_height + 6)
        w = max(1, round(span * value / peak)) if value else 0
        colour = PATTERNS[i % len(PATTERNS)]
        parts.append(
            f'<text x="{label_width - 6}" y="{y + bar_height - 5}" font-size="11" text-anchor="end" '
            f'fill="#000">{escape(label)}</text>'
        )
        parts.append(
            f'<rect x="{label_width}" y="{y}" width="{w}" height="{bar_height}" fill="{colour}"/>'
        )
        parts.append(
            f'<text x="{label_width + w + 4}" y="{y + bar_height - 5}" font-size="11" fill="#000">{value}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


SERIES_DASHES = ["", "", "4 2", "1 2"]


def grouped_bar_chart(
    groups: list[tuple[str, list[int | None]]],
    series: list[str],
    title: str,
    width: int = 520,
    bar_height: int = 14,
) -> Markup:
    """Horizontal bars in groups: one bar per series, each bar labelled "series: value".

    `groups` are (group label, one value per series); None prints "—" with no bar.
    Series differ in fill and in outline pattern, but every bar also names its
    series and value in text, so colour is never needed to read the chart.
    """
    label_width = 170
    top = 24
    group_gap = 10
    group_height = len(series) * (bar_height + 3) + group_gap
    height = top + len(groups) * group_height + 4
    peak = max((v or 0 for _, values in groups for v in values), default=0) or 1
    span = width - label_width - 110
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">'
        ),
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="14" font-size="12" font-weight="bold" fill="#000">{escape(title)}</text>',
    ]
    for g, (label, values) in enumerate(groups):
        y0 = top + g * group_height
        parts.append(
            f'<text x="{label_width - 6}" y="{y0 + bar_height - 3}" font-size="11" text-anchor="end" '
            f'font-weight="bold" fill="#000">{escape(label)}</text>'
        )
        for s, name in enumerate(series):
            value = values[s] if s < len(values) else None
            y = y0 + s * (bar_height + 3)
            w = max(1, round(span * value / peak)) if value else 0
            colour = PATTERNS[s % len(PATTERNS)]
            dash = SERIES_DASHES[s % len(SERIES_DASHES)]
            if s % 2:  # the second series is an outline only: distinct without colour
                style = f'fill="#ffffff" stroke="{colour}" stroke-width="1.5"'
            else:
                style = f'fill="{colour}"'
            if dash:
                style += f' stroke-dasharray="{dash}"'
            if w:
                parts.append(
                    f'<rect x="{label_width}" y="{y}" width="{w}" height="{bar_height}" {style}/>'
                )
            shown = "—" if value is None else value
            parts.append(
                f'<text x="{label_width + w + 4}" y="{y + bar_height - 3}" font-size="10" fill="#000">'
                f"{escape(name)}: {shown}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))
