"""When do things break? Failures by weekday and hour, by branch, by who triggered them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from analytics.trends import Dimension
from streamlit_app import charts, data, filters, fmt

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
OFFSETS = sorted({h * 60 for h in range(-12, 15)} | {-210, 210, 270, 330, 345, 390, 570, 630})


def label(offset: int) -> str:
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}" if offset else "UTC"


def browser_offset() -> int:
    """The viewer's browser's current offset from UTC in minutes (0 when unknown)."""
    name = st.context.timezone
    try:
        now = datetime.now(ZoneInfo(name)) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        now = None
    shift = now.utcoffset() if now else None
    return int(shift.total_seconds() // 60) if shift else 0


chosen = filters.current()
scope = chosen.scope
st.title("When things break")

if "b_offset" not in st.session_state:
    wanted = st.query_params.get("tz")
    offset = int(wanted) if wanted and wanted.lstrip("-").isdigit() else browser_offset()
    st.session_state["b_offset"] = offset if offset in OFFSETS else 0
offset = st.selectbox("Clock", OFFSETS, key="b_offset", format_func=label)
if offset:
    st.query_params["tz"] = str(offset)
else:
    st.query_params.pop("tz", None)

heat = data.failure_heatmap(scope, offset)
if heat.empty:
    st.info("No failed runs match these filters in this range.")
    st.stop()
grid = [[0] * 24 for _ in WEEKDAYS]
for weekday, hour, failures in heat[["weekday", "hour", "failures"]].itertuples(index=False):
    grid[int(weekday) - 1][int(hour)] = int(failures)
figure = go.Figure(
    go.Heatmap(
        z=grid,
        x=[f"{h:02d}:00" for h in range(24)],
        y=list(WEEKDAYS),
        colorscale="Reds",
        hovertemplate="%{y} %{x}: %{z} failures<extra></extra>",
    )
)
figure.update_layout(yaxis_autorange="reversed", margin={"t": 10, "b": 10})
st.subheader(f"Failures by weekday and hour ({label(offset)})")
st.caption(f"{fmt.number(heat['failures'].sum())} failed runs, by the hour they started.")
st.plotly_chart(figure, key="heatmap")

left, right = st.columns(2)
by: tuple[tuple[DeltaGenerator, Dimension, str], ...] = (
    (left, "branch", "By branch"),
    (right, "triggered_by", "By who triggered them"),
)
for column, dimension, title in by:
    frame = data.failures_by(scope, dimension)
    column.subheader(title)
    column.plotly_chart(
        charts.bars(
            frame.assign(rate=[fmt.percent(v) for v in frame["failure_rate"]]),
            x="key",
            y="failures",
            value=fmt.number,
            y_title="failed runs",
            horizontal=True,
            hover=["rate", "decided"],
        ),
        key=f"by_{dimension}",
    )
st.page_link(
    "app_pages/runs.py",
    label="The failed runs behind these charts",
    icon="🔎",
    query_params={"status": "failure"},
)
