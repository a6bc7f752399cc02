"""Where does the time go? Slowest pipelines, GitHub queue against run time, slowest steps."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from streamlit_app import charts, data, filters, fmt

TOP = 5

chosen = filters.current()
scope = chosen.scope
st.title("Where time goes")

slowest = data.slowest_pipelines(scope)
if slowest.empty:
    st.info("No decided runs match these filters in this range.")
    st.stop()
st.subheader("Slowest pipelines")
shown = slowest.assign(
    average=charts.duration_values(slowest, "avg_duration_sec"),
    p50=charts.duration_values(slowest, "p50_duration_sec"),
    p95=charts.duration_values(slowest, "p95_duration_sec"),
    total_time=charts.duration_values(slowest, "decided_duration_sec"),
)
st.dataframe(
    shown[["pipeline", "runs", "average", "p50", "p95", "total_time"]],
    hide_index=True,
    column_config={"total_time": st.column_config.TextColumn("time of decided runs")},
)
st.plotly_chart(
    charts.bars(
        slowest.head(15),
        x="pipeline",
        y="avg_duration_sec",
        value=fmt.duration,
        y_title="average seconds",
        horizontal=True,
    ),
    key="slowest_chart",
)
top = tuple(slowest["pipeline"].head(TOP))
st.caption(f"Average duration per {chosen.grain} of the {len(top)} slowest")
st.plotly_chart(
    charts.lines(
        data.period_counts(replace(scope, pipelines=top), chosen.grain, True),
        x="period",
        columns={"avg_duration_sec": "average"},
        value=fmt.duration,
        y_title="seconds",
        color="pipeline",
    ),
    key="slowest_trend",
)

st.subheader("GitHub jobs: waiting against working")
jobs = data.job_times(scope)
if jobs.empty:
    st.info(
        "No GitHub jobs are recorded for these runs. The webhook records them when it sends "
        '"Workflow jobs" (README, "Connect GitHub").'
    )
else:
    wide = jobs.assign(job_label=jobs["job"] + " · " + jobs["runner_label"])
    long = wide.melt(
        id_vars=["job_label", "jobs"],
        value_vars=["avg_queue_sec", "avg_run_sec"],
        var_name="part",
        value_name="seconds",
    )
    long["part"] = long["part"].map({"avg_queue_sec": "queued", "avg_run_sec": "running"})
    st.plotly_chart(
        charts.bars(
            long,
            x="job_label",
            y="seconds",
            value=fmt.duration,
            y_title="average seconds",
            color="part",
            horizontal=True,
            hover=["part", "jobs"],
        ),
        key="jobs_chart",
    )
    st.dataframe(
        wide.assign(
            queue=charts.duration_values(wide, "avg_queue_sec"),
            queue_p95=charts.duration_values(wide, "p95_queue_sec"),
            run=charts.duration_values(wide, "avg_run_sec"),
            run_p95=charts.duration_values(wide, "p95_run_sec"),
        )[["pipeline", "job", "runner_label", "jobs", "queue", "queue_p95", "run", "run_p95"]],
        hide_index=True,
    )
    st.subheader("Slowest steps")
    steps = data.slowest_steps(scope)
    st.dataframe(
        steps.assign(
            average=charts.duration_values(steps, "avg_sec"),
            p95=charts.duration_values(steps, "p95_sec"),
            total=charts.duration_values(steps, "total_sec"),
        )[["pipeline", "job", "step", "runs", "average", "p95", "total"]],
        hide_index=True,
    )
