"""The runs behind any chart: filter, read, download, open in the CI."""

from __future__ import annotations

import streamlit as st

from analytics.trends import STATUSES
from streamlit_app import charts, data, filters, fmt

LIMIT = 1000

chosen = filters.current()
scope = chosen.scope
st.title("Runs explorer")

# A link from another page (`?status=failure`) sets the status filter when followed.
linked = [s for s in st.query_params.get_all("status") if s in STATUSES]
if linked and linked != st.session_state.get("_r_linked"):
    st.session_state["r_statuses"] = linked
st.session_state["_r_linked"] = linked
if "r_by" not in st.session_state:
    st.session_state["r_by"] = st.query_params.get("by", "")
    st.session_state["r_commit"] = st.query_params.get("commit", "")

cols = st.columns([2, 1, 1])
statuses = cols[0].multiselect("Status", STATUSES, key="r_statuses", placeholder="Any status")
by = cols[1].text_input("Triggered by", key="r_by").strip()
commit = cols[2].text_input("Commit starts with", key="r_commit").strip()
for key, value in (("status", statuses), ("by", by), ("commit", commit)):
    if value:
        st.query_params[key] = value
    else:
        st.query_params.pop(key, None)

runs = data.run_list(scope, tuple(statuses), by or None, commit or None)
if runs.empty:
    st.info("No runs match these filters in this range.")
    st.stop()
st.caption(
    f"{fmt.number(len(runs))} runs, newest first"
    + (f" (the newest {LIMIT:,}; narrow the filters for older ones)" if len(runs) >= LIMIT else "")
)
st.dataframe(
    runs.assign(duration=charts.duration_values(runs, "duration_sec")),
    hide_index=True,
    column_order=[
        "started_at",
        "pipeline",
        "branch",
        "status",
        "duration",
        "commit_sha",
        "triggered_by",
        "attempt",
        "conclusion",
        "url",
        "finished_at",
        "duration_sec",
        "source",
        "run_id",
    ],
    column_config={
        "url": st.column_config.LinkColumn("CI run", display_text="open ↗"),
        "commit_sha": st.column_config.TextColumn("commit"),
        "duration_sec": st.column_config.NumberColumn("seconds", format="%.3f"),
    },
)
st.download_button(
    "Download CSV",
    runs.to_csv(index=False).encode(),
    file_name=f"pulse-runs-{scope.start}-{scope.end}.csv",
    mime="text/csv",
)
