"""The filters every page shares, kept in the URL so a link shows the same view.

URL parameters: `from` and `to` (ISO days; absent: the last 30 days), `pipeline` and `branch`
(repeated for several; the React dashboard's `?pipeline=&branch=` mean the same), `grain`
(day, week, month). Read once when a viewer's session starts, then written back on every run,
so switching pages keeps them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import cast
from urllib.parse import urlencode

import streamlit as st

from analytics.trends import GRAINS, Grain, Scope
from streamlit_app import data

DEFAULT_DAYS = 30
DEFAULT_DASHBOARD_URL = "http://127.0.0.1:5173"
_LOADED = "_pulse_filters_loaded"
_CURRENT = "_pulse_filters"


@dataclass(frozen=True)
class Filters:
    scope: Scope
    grain: Grain

    @property
    def dashboard_url(self) -> str:
        """The React dashboard, on the same pipeline and branch when just one is chosen."""
        base = os.environ.get("PULSE_DASHBOARD_URL") or DEFAULT_DASHBOARD_URL
        query = {}
        if len(self.scope.pipelines) == 1:
            query["pipeline"] = self.scope.pipelines[0]
        if len(self.scope.branches) == 1:
            query["branch"] = self.scope.branches[0]
        return base.rstrip("/") + "/" + (f"?{urlencode(query)}" if query else "")


def _utc_today() -> date:
    return datetime.now(UTC).date()


def default_range() -> tuple[date, date]:
    end = _utc_today()
    return end - timedelta(days=DEFAULT_DAYS - 1), end


def _parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _load_from_url() -> None:
    """Seed the widgets from the URL once per session (widgets own the values afterwards)."""
    params = st.query_params
    start, end = default_range()
    start = _parse_day(params.get("from")) or start
    end = _parse_day(params.get("to")) or end
    st.session_state["f_range"] = (min(start, end), max(start, end))
    st.session_state["f_pipelines"] = [p for p in params.get_all("pipeline") if p]
    st.session_state["f_branches"] = [b for b in params.get_all("branch") if b]
    grain = params.get("grain", "day")
    st.session_state["f_grain"] = grain if grain in GRAINS else "day"
    st.session_state[_LOADED] = True


def _write_to_url(filters: Filters) -> None:
    params = st.query_params
    scope = filters.scope
    if (scope.start, scope.end) == default_range():
        params.pop("from", None)
        params.pop("to", None)
    else:
        params["from"] = scope.start.isoformat()
        params["to"] = scope.end.isoformat()
    for key, values in (("pipeline", scope.pipelines), ("branch", scope.branches)):
        if values:
            params[key] = list(values)
        else:
            params.pop(key, None)
    if filters.grain == "day":
        params.pop("grain", None)
    else:
        params["grain"] = filters.grain


def sidebar() -> Filters:
    """Render the shared filters in the sidebar; the chosen filters (also kept for `current`)."""
    if not st.session_state.get(_LOADED):
        _load_from_url()
    bar = st.sidebar
    chosen = bar.date_input("Days (UTC)", key="f_range")
    # While a range is being picked the widget holds one day: keep the last whole range.
    if isinstance(chosen, tuple) and len(chosen) == 2:
        start, end = cast(tuple[date, date], chosen)
        st.session_state["_pulse_last_range"] = (start, end)
    else:
        start, end = st.session_state.get("_pulse_last_range", default_range())
    options = data.filter_options(Scope(start, end))
    names = sorted(set(options["pipeline"]) | set(st.session_state["f_pipelines"]))
    pipelines = bar.multiselect("Pipelines", names, key="f_pipelines", placeholder="All pipelines")
    among = options[options["pipeline"].isin(pipelines)] if pipelines else options
    ranked = among.dropna(subset=["branch"]).groupby("branch")["runs"].sum()
    branch_names = list(ranked.sort_values(ascending=False, kind="stable").index)
    branch_names += [b for b in st.session_state["f_branches"] if b not in branch_names]
    branches = bar.multiselect(
        "Branches", branch_names, key="f_branches", placeholder="All branches"
    )
    grain = bar.selectbox("Grain", GRAINS, key="f_grain", format_func=str.capitalize)
    filters = Filters(scope=Scope(start, end, tuple(pipelines), tuple(branches)), grain=grain)
    _write_to_url(filters)
    bar.link_button("Live dashboard ↗", filters.dashboard_url, width="stretch")
    st.session_state[_CURRENT] = filters
    return filters


def current() -> Filters:
    """The filters the sidebar chose in this run."""
    return cast(Filters, st.session_state[_CURRENT])
