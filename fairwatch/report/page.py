"""The self-contained HTML page every report is (one file: inline CSS, inline SVG figures).

:func:`page` lays out a document around the report's own sections; :func:`cards`,
:func:`figure`, :func:`badge` and :func:`number` are the pieces reports share, styled by
:data:`STYLE` (a report adds only the rules of its own elements).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import NamedTuple

#: How a verdict reads in a badge.
STATUS_TEXT = {
    "breach": "breach",
    "undecided": "undecided",
    "ok": "ok",
    "not_computable": "not computable",
}

STYLE = """
:root { --ink:#263238; --muted:#607d8b; --line:#e0e6ea; --ok:#2e7d32; --breach:#c62828;
        --undecided:#ef8f00; --unsure:#8d8d8d; --bg:#f7f9fa; --link:#1f5fa8; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; color:var(--ink); background:var(--bg); }
main { max-width:1180px; margin:0 auto; padding:28px 28px 60px; }
a { color:var(--link); }
h1 { font-size:24px; margin:0 0 4px; }
h2 { font-size:18px; margin:36px 0 10px; padding-bottom:6px; border-bottom:1px solid var(--line); }
h3 { font-size:15px; margin:22px 0 8px; }
.source { color:var(--muted); margin:0 0 20px; word-break:break-all; }
.lede { color:#455a64; margin:4px 0 18px; max-width:920px; }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(150px,1fr)); gap:12px;
         margin:0 0 4px; }
.card { background:#fff; border:1px solid var(--line); border-radius:10px; padding:12px 14px; }
.card .value { font-size:24px; font-weight:600; }
.card .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.card.breach .value { color:var(--breach); } .card.ok .value { color:var(--ok); }
.figure { background:#fff; border:1px solid var(--line); border-radius:10px; padding:10px;
          overflow-x:auto; margin:8px 0 14px; }
.figure svg { max-width:100%; height:auto; display:block; }
.figure.wide svg { width:100%; }
.figure figcaption { color:var(--muted); font-size:13px; margin:6px 6px 2px; }
table { border-collapse:collapse; width:100%; background:#fff; border:1px solid var(--line);
        border-radius:10px; overflow:hidden; font-variant-numeric:tabular-nums; }
th, td { padding:6px 10px; border-bottom:1px solid var(--line); text-align:left;
         vertical-align:top; }
th { background:#eef2f4; font-weight:600; font-size:12px; color:var(--muted); }
tr:last-child td { border-bottom:none; }
td.num, th.num { text-align:right; }
table.numbers th, table.numbers td { text-align:right; }
table.numbers th:first-child, table.numbers td:first-child, table.numbers .text { text-align:left; }
.ci { color:var(--muted); font-size:12px; display:block; }
.na { color:#b0bec5; }
.small { color:var(--unsure); }
.badge { display:inline-block; padding:1px 9px; border-radius:999px; font-size:12px;
         font-weight:600; color:#fff; white-space:nowrap; }
.badge.ok { background:var(--ok); } .badge.breach { background:var(--breach); }
.badge.undecided { background:var(--undecided); }
.badge.not_computable { background:var(--unsure); }
.note { color:var(--muted); font-size:13px; }
pre { background:#fff; border:1px solid var(--line); border-radius:10px; padding:12px;
      overflow:auto; font-size:12px; max-height:420px; }
details { margin:8px 0; } summary { cursor:pointer; color:var(--link); }
footer { margin-top:40px; color:var(--muted); font-size:12px; }
"""


class Card(NamedTuple):
    """One summary figure at the top of a report; ``kind`` ``breach`` or ``ok`` colours it."""

    label: str
    value: str
    kind: str = ""


def page(title: str, body: Sequence[str], css: str = "") -> str:
    """A complete HTML document: ``title`` (text), the ``body`` parts (HTML) in a ``<main>``,
    :data:`STYLE` plus the report's own ``css``."""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title>",
            f"<style>{STYLE}{css}</style></head><body><main>",
            *body,
            "</main></body></html>",
            "",
        ]
    )


def cards(items: Sequence[Card]) -> str:
    """A row of summary cards."""
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="{f"card {item.kind}".strip()}">'
            f'<div class="label">{escape(item.label)}</div>'
            f'<div class="value">{escape(item.value)}</div></div>'
            for item in items
        )
        + "</div>"
    )


def figure(svg: str, caption: str = "", kind: str = "") -> str:
    """An inline SVG figure in its frame, with an optional caption (HTML). ``kind``: ``wide``
    stretches the figure to the page's width; other values are extra CSS classes."""
    classes = f"figure {kind}".strip()
    text = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f'<figure class="{classes}">{svg}{text}</figure>'


def badge(status: str, text: str | None = None) -> str:
    """A verdict (``breach``, ``undecided``, ``ok``, ``not_computable``) as a coloured badge."""
    return f'<span class="badge {status}">{escape(text or STATUS_TEXT[status])}</span>'


def number(value: float | None, digits: int = 3) -> str:
    """``value`` with ``digits`` decimals; a missing value is a grey dash, never 0."""
    return '<span class="na">—</span>' if value is None else f"{value:.{digits}f}"
