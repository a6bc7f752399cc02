"""Is it healthy, how long does red last, and what is flaky?"""

from __future__ import annotations

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
    ranked = health.sort_values(["is_failing", "failure_streak"], ascending=False)
    st.dataframe(
        {
            "Pipeline": ranked["pipeline"],
            "State": ranked["state"].str.capitalize(),
            "Failures in a row": ranked["failure_streak"],
            "Failing since": [fmt.moment(v) for v in ranked["failing_since"]],
            "Last success": [fmt.moment(v) for v in ranked["last_success_at"]],
            "Last failure": [fmt.moment(v) for v in ranked["last_failure_at"]],
            "Mean time to green (all time)": charts.duration_values(
                ranked, "mean_time_to_green_sec"
            ),
        },
        hide_index=True,
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
green = data.time_to_green(scope)
trend = data.period_counts(scope, chosen.grain, False)
if not green.recoveries:
    st.info("No failure ended in this range (or nothing failed): no time to green to show.")
else:
    cols = st.columns(3)
    cols[0].metric("Recoveries", fmt.number(green.recoveries))
    cols[1].metric("Mean time to green", fmt.duration(green.mean_sec))
    cols[2].metric("Median time to green", fmt.duration(green.median_sec))
    left, right = st.columns(2)
    bands = green.bands.assign(
        band=[
            f"{fmt.span(lower)}-{fmt.span(upper)}" if upper else f"≥ {fmt.span(lower)}"
            for lower, upper in green.bands[["lower_sec", "upper_sec"]].itertuples(index=False)
        ]
    )
    left.caption("How long red lasted")
    left.plotly_chart(
        charts.bars(bands, x="band", y="recoveries", value=fmt.number, y_title="recoveries"),
        key="ttg_histogram",
    )
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
        {
            "Pipeline": flaky["pipeline"],
            "Commit": flaky["commit_sha"],
            "Branch": flaky["branch"],
            "Failures": flaky["failures"],
            "Successes": flaky["successes"],
            "First failure": [fmt.moment(v) for v in flaky["first_failure_at"]],
            "Last success": [fmt.moment(v) for v in flaky["last_success_at"]],
            "Re-run turned it green": flaky["is_rerun_green"].fillna(False).astype(bool),
            "Green run": flaky["url"],
        },
        hide_index=True,
        column_config={
            "Green run": st.column_config.LinkColumn("Green run", display_text="open ↗"),
        },
    )
