"""Is it healthy, how long does red last, and what is flaky?"""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from streamlit_app import charts, data, filters, fmt

chosen = filters.current()
scope = chosen.scope
st.title("Reliability")

health = data.health()
if scope.pipelines:
    health = health[health["pipeline"].isin(scope.pipelines)]
st.subheader("Health now")
if health.empty:
    st.info("No health yet for these pipelines: the worker computes it at its next refresh.")
else:
    failing = health[health["is_failing"]]
    cols = st.columns(3)
    cols[0].metric("Pipelines failing", f"{len(failing)} of {len(health)}")
    cols[1].metric("Longest current streak", fmt.number(health["failure_streak"].max()))
    cols[2].metric(
        "As of", f"{health['as_of'].max():%H:%M:%S} UTC" if health["as_of"].notna().any() else "—"
    )
    shown = health.assign(time_to_green=charts.duration_values(health, "mean_time_to_green_sec"))
    st.dataframe(
        shown.sort_values(["is_failing", "failure_streak"], ascending=False)[
            [
                "pipeline",
                "state",
                "failure_streak",
                "failing_since",
                "last_success_at",
                "last_failure_at",
                "time_to_green",
            ]
        ],
        hide_index=True,
        column_config={
            "failure_streak": st.column_config.NumberColumn("failure streak"),
            "time_to_green": st.column_config.TextColumn("mean time to green (all time)"),
        },
    )
    if not failing.empty:
        st.caption("Failure streaks now (failed decided runs in a row)")
        st.plotly_chart(
            charts.bars(
                failing.sort_values("failure_streak", ascending=False),
                x="pipeline",
                y="failure_streak",
                value=fmt.number,
                y_title="failed runs in a row",
                horizontal=True,
            ),
            key="streaks_chart",
        )

st.subheader("Time to green")
episodes = data.recovery_episodes(scope)
trend = data.period_trends(scope, chosen.grain, False)
if episodes.empty:
    st.info("No failure ended in this range (or nothing failed): no time to green to show.")
else:
    cols = st.columns(3)
    cols[0].metric("Recoveries", fmt.number(len(episodes)))
    cols[1].metric("Mean time to green", fmt.duration(episodes["time_to_green_sec"].mean()))
    cols[2].metric("Median time to green", fmt.duration(episodes["time_to_green_sec"].median()))
    left, right = st.columns(2)
    minutes = episodes.assign(
        minutes=episodes["time_to_green_sec"] / 60,
        shown=charts.duration_values(episodes, "time_to_green_sec"),
    )
    spread = px.histogram(minutes, x="minutes", nbins=30, log_y=False)
    spread.update_traces(hovertemplate="%{x} min: %{y} recoveries")
    spread.update_layout(xaxis_title="minutes red", yaxis_title="recoveries", margin={"t": 10})
    left.caption("How long red lasted")
    left.plotly_chart(spread, key="ttg_histogram")
    right.caption(f"Mean time to green per {chosen.grain}")
    right.plotly_chart(
        charts.lines(
            trend,
            x="period",
            columns={"mean_time_to_green_sec": "mean time to green"},
            value=fmt.duration,
            y_title="seconds",
        ),
        key="ttg_trend",
    )

st.subheader("Flaky commits")
st.caption(
    "The same commit failed and later passed on the same pipeline. Re-runs that turned red into "
    f"green in this range: **{fmt.number(trend['rerun_recoveries'].sum())}** (where the CI "
    "records attempts)."
)
flaky = data.flaky_commits(scope)
if flaky.empty:
    st.info("No commit failed and then passed in this range.")
else:
    st.dataframe(
        flaky,
        hide_index=True,
        column_config={
            "commit_sha": st.column_config.TextColumn("commit"),
            "is_rerun_green": st.column_config.CheckboxColumn("re-run turned it green"),
            "url": st.column_config.LinkColumn("green run", display_text="open ↗"),
        },
    )
