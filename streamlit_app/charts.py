"""Plotly figures whose hover shows the exact value, formatted as the page shows it."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from streamlit_app import fmt

Format = Callable[[float | None], str]


def lines(
    frame: pd.DataFrame,
    *,
    x: str,
    columns: dict[str, str],
    value: Format,
    y_title: str,
    color: str | None = None,
    percent_axis: bool = False,
) -> go.Figure:
    """One line per column (label: column name in `columns`), or per `color` value when a
    single column is given; hover shows `value(y)`."""
    long = frame.melt(
        id_vars=[x] + ([color] if color else []),
        value_vars=list(columns),
        var_name="measure",
        value_name="value",
    )
    long["measure"] = long["measure"].map(columns)
    long["shown"] = [value(v) for v in long["value"]]
    figure = px.line(
        long,
        x=x,
        y="value",
        color=color if color else "measure",
        line_dash="measure" if color and len(columns) > 1 else None,
        markers=True,
        custom_data=["shown", "measure"],
    )
    figure.update_traces(hovertemplate="%{x|%Y-%m-%d}<br>%{customdata[1]}: %{customdata[0]}")
    figure.update_layout(
        yaxis_title=y_title,
        xaxis_title=None,
        legend_title=None,
        hovermode="closest",
        margin={"t": 10, "b": 10},
    )
    if percent_axis:
        figure.update_yaxes(tickformat=".0%", rangemode="tozero")
    return figure


def bars(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    value: Format,
    y_title: str,
    color: str | None = None,
    horizontal: bool = False,
    hover: list[str] | None = None,
) -> go.Figure:
    shown = frame.assign(shown=[value(v) for v in frame[y]])
    extra = hover or []
    figure = px.bar(
        shown,
        x=y if horizontal else x,
        y=x if horizontal else y,
        color=color,
        orientation="h" if horizontal else "v",
        custom_data=["shown", x, *extra],
    )
    details = "".join(f"<br>{name}: %{{customdata[{i + 2}]}}" for i, name in enumerate(extra))
    figure.update_traces(hovertemplate="%{customdata[1]}: %{customdata[0]}" + details)
    axis = {"xaxis_title": y_title, "yaxis_title": None} if horizontal else {"yaxis_title": y_title}
    figure.update_layout(**axis, legend_title=None, margin={"t": 10, "b": 10})
    if horizontal:
        # As tall as its bars: one bar no longer fills a whole chart's height.
        figure.update_yaxes(autorange="reversed")
        figure.update_layout(height=max(160, 90 + 32 * frame[x].nunique()))
    return figure


def duration_values(frame: pd.DataFrame, column: str) -> list[str]:
    return [fmt.duration(v) for v in frame[column]]
