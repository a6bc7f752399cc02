"""Are we getting better? Success, first-try success, durations and volume per period."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import streamlit as st

from streamlit_app import charts, data, filters, fmt

chosen = filters.current()
scope = chosen.scope
st.title("Trends")
st.caption(
    f"{scope.start:%d %b %Y} to {scope.end:%d %b %Y} (UTC) · per {chosen.grain} · "
    f"{', '.join(scope.pipelines) or 'all pipelines'}"
    + (f" · {', '.join(scope.branches)}" if scope.branches else "")
)

# The last 7 days of the range against the 7 before them.
week = replace(scope, start=scope.end - timedelta(days=6))
before = replace(scope, start=scope.end - timedelta(days=13), end=scope.end - timedelta(days=7))
now, then = data.range_totals(week), data.range_totals(before)


def delta(key: str, show: Callable[[float], str]) -> str | None:
    a, b = now[key], then[key]
    if a is None or b is None:
        return None
    return show(a - b)


def points(value: float) -> str:
    return f"{value * 100:+.1f} pp"


def seconds(value: float) -> str:
    return ("+" if value >= 0 else "-") + fmt.duration(abs(value))


st.subheader("Last 7 days against the 7 before")
cols = st.columns(5)
cols[0].metric("Success rate", fmt.percent(now["success_rate"]), delta("success_rate", points))
cols[1].metric(
    "First-try success",
    fmt.percent(now["first_try_success_rate"]),
    delta("first_try_success_rate", points),
    help="Success rate of attempt-1 runs, where the CI records attempts (GitHub).",
)
cols[2].metric(
    "p50 duration",
    fmt.duration(now["p50_duration_sec"]),
    delta("p50_duration_sec", seconds),
    delta_color="inverse",
)
cols[3].metric(
    "p95 duration",
    fmt.duration(now["p95_duration_sec"]),
    delta("p95_duration_sec", seconds),
    delta_color="inverse",
)
cols[4].metric(
    "Runs per day",
    fmt.number(now["runs_per_day"], 1),
    delta("runs_per_day", lambda v: f"{v:+,.1f}"),
    delta_color="off",
)

per_pipeline = st.toggle("One line per pipeline", key="t_per_pipeline")
frame = data.period_trends(scope, chosen.grain, per_pipeline)
if int(frame["total"].sum()) == 0:
    st.info("No runs match these filters in this range: widen the days or clear a filter.")
    st.stop()
color = "pipeline" if per_pipeline else None

st.subheader("Success")
st.plotly_chart(
    charts.lines(
        frame,
        x="period",
        columns={"success_rate": "success rate", "first_try_success_rate": "first try"},
        value=fmt.percent,
        y_title="success rate",
        color=color,
        percent_axis=True,
    ),
    key="success_chart",
)
st.subheader("Duration of decided runs")
st.plotly_chart(
    charts.lines(
        frame,
        x="period",
        columns={"p50_duration_sec": "p50", "p95_duration_sec": "p95"},
        value=fmt.duration,
        y_title="seconds",
        color=color,
    ),
    key="duration_chart",
)
st.subheader("Runs per day")
st.plotly_chart(
    charts.lines(
        frame,
        x="period",
        columns={"runs_per_day": "runs per day"},
        value=lambda v: fmt.number(v, 1),
        y_title="runs per day",
        color=color,
    ),
    key="volume_chart",
)
with st.expander("The figures"):
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            "period": st.column_config.DateColumn(chosen.grain),
            "success_rate": st.column_config.NumberColumn("success rate", format="percent"),
            "first_try_success_rate": st.column_config.NumberColumn("first try", format="percent"),
        },
    )
