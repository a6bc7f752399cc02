"""Pipeline Pulse trends: the entry point. Shared filters in the sidebar, pages in `app_pages/`.

Run it with `pulse streamlit` (or `pulse up`), which hands over DATABASE_URL. The folder is not
called `pages/`: Streamlit would take that for its older automatic pages, and AppTest then runs
a page without this script on every rerun after the first.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from sqlalchemy.exc import InterfaceError, OperationalError

from streamlit_app import data, filters

# The dashboard's icon, served by the app itself: a Material icon here would be fetched from
# Google's font servers, which the app's security policy (and an offline install) rules out.
st.set_page_config(
    page_title="Pipeline Pulse trends",
    page_icon=str(Path(__file__).with_name("favicon.svg")),
    layout="wide",
)

navigation = st.navigation(
    [
        st.Page("app_pages/trends.py", title="Trends", icon=":material/trending_up:", default=True),
        st.Page("app_pages/reliability.py", title="Reliability", icon=":material/monitor_heart:"),
        st.Page("app_pages/time.py", title="Where time goes", icon=":material/timer:"),
        st.Page("app_pages/breakages.py", title="When things break", icon=":material/error:"),
        st.Page("app_pages/runs.py", title="Runs explorer", icon=":material/search:"),
    ]
)

try:
    state = data.state()
    if not state.has_runs:
        st.info(
            'No runs yet. Send one (README, "Send a run"), connect GitHub, or make a month '
            "of demo history: `.venv/bin/pulse simulate --count 5000 --hours 720`."
        )
        st.stop()
    if not state.has_history:
        st.info(
            "Runs are stored but the daily history has not been computed yet: `pulse worker` "
            "(started by `pulse up`) does it within a minute, `pulse refresh` does it now."
        )
    filters.sidebar()
    navigation.run()
except data.NoDatabase as exc:
    st.warning(str(exc))
# Only a server that is away or refusing: a failing query is a bug, shown as one.
except (OperationalError, InterfaceError) as exc:
    st.warning(
        "The database is not answering, so there is nothing to show. Is `pulse up` running, "
        "or is DATABASE_URL's server up? This page tries again on the next interaction."
    )
    st.caption(f"{type(exc.orig).__name__ if exc.orig else type(exc).__name__}")
