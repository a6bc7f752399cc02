"""ORM tables: the seed's `pipelines` and `runs`, plus run identity and bookkeeping columns."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from analytics.models import RunStatus

# Deterministic constraint names, so migrations and `alembic check` agree across machines.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _timestamp(*, nullable: bool = False, default_now: bool = False) -> Mapped[datetime]:
    return mapped_column(
        DateTime(timezone=True),
        nullable=nullable,
        server_default=func.now() if default_now else None,
    )


class Pipeline(Base):
    __tablename__ = "pipelines"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True, index=True)
    created_at: Mapped[datetime] = _timestamp(default_now=True)
    # The pipeline in its CI (a GitHub workflow's page), set by the webhook.
    url: Mapped[str | None] = mapped_column(String(2048))

    runs: Mapped[list[Run]] = relationship(back_populates="pipeline", lazy="raise")


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        # Every stored run is one clients and reads can represent (run_timing v02 answers 422
        # before these are reached; migration 0007).
        CheckConstraint(
            "duration_sec is null or (duration_sec >= 0 and duration_sec <= 3024000)",
            name="duration_sec_range",
        ),
        CheckConstraint("attempt is null or attempt between 1 and 1000000", name="attempt_range"),
        CheckConstraint(
            "started_at >= '2000-01-01 00:00:00+00' and started_at < '2200-01-01 00:00:00+00'",
            name="started_at_range",
        ),
        CheckConstraint(
            "finished_at is null or (finished_at >= started_at"
            " and finished_at < '2200-01-01 00:00:00+00')",
            name="finished_at_range",
        ),
        Index("ix_runs_pipeline_id_started_at", "pipeline_id", text("started_at DESC")),
        Index("ix_runs_status", "status"),
        Index("ix_runs_started_at_id", "started_at", "id"),
        # Health and the window's last result probe the latest decided runs by finished_at:
        # per pipeline and status, per pipeline, branch and status, and across pipelines.
        Index(
            "ix_runs_decided",
            "pipeline_id",
            "status",
            text("finished_at DESC"),
            text("id DESC"),
            postgresql_where=text("status IN ('success', 'failure')"),
        ),
        Index(
            "ix_runs_decided_branch",
            "pipeline_id",
            "branch",
            "status",
            text("finished_at DESC"),
            text("id DESC"),
            postgresql_where=text("status IN ('success', 'failure')"),
        ),
        # A commit's runs: re-runs and flaky commits (refresh_history's heals).
        Index("ix_runs_pipeline_id_commit", "pipeline_id", "commit"),
        Index(
            "ix_runs_decided_finished_at",
            text("finished_at DESC"),
            text("id DESC"),
            postgresql_where=text("status IN ('success', 'failure')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"))
    status: Mapped[RunStatus] = mapped_column(
        Enum(RunStatus, name="run_status", values_callable=lambda e: [m.value for m in e])
    )
    started_at: Mapped[datetime] = _timestamp()
    finished_at: Mapped[datetime | None] = _timestamp(nullable=True)
    duration_sec: Mapped[float | None] = mapped_column(Double)
    branch: Mapped[str] = mapped_column(String(255))
    commit: Mapped[str] = mapped_column(String(64))
    triggered_by: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(64), server_default="api")
    external_id: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime] = _timestamp(default_now=True)
    updated_at: Mapped[datetime] = _timestamp(default_now=True)
    # A CI run's attempt (a re-run is 2) and the CI's own conclusion, as it sent them.
    attempt: Mapped[int | None] = mapped_column(Integer)
    conclusion: Mapped[str | None] = mapped_column(String(64))

    pipeline: Mapped[Pipeline] = relationship(back_populates="runs", lazy="raise")


class RollupFigures:
    """What every rollup row adds up: runs per status, the decided runs' durations in integer
    ms, and their duration histogram (subscripts are bins: sql/functions/duration_bin_v01.sql).
    """

    running: Mapped[int] = mapped_column(BigInteger, server_default="0")
    success: Mapped[int] = mapped_column(BigInteger, server_default="0")
    failure: Mapped[int] = mapped_column(BigInteger, server_default="0")
    cancelled: Mapped[int] = mapped_column(BigInteger, server_default="0")
    skipped: Mapped[int] = mapped_column(BigInteger, server_default="0")
    decided_duration_ms: Mapped[int] = mapped_column(BigInteger, server_default="0")
    duration_hist: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))


class BranchHourTotal(RollupFigures, Base):
    """PipelineHourTotal per branch, for windows with a branch filter: everything about the
    branch's runs that started before `hour_start`, a row for the hour after each hour with
    runs of the branch (sql/functions/branch_totals_add_v01.sql)."""

    __tablename__ = "branch_hour_totals"

    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"), primary_key=True)
    branch: Mapped[str] = mapped_column(String(255), primary_key=True)
    hour_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)


class Recovery(Base):
    """A failure episode that ended: the success that ended it and how long red lasted.

    Two scopes: the whole pipeline (`per_branch` false: all branches interleaved) and the
    success's own branch (`per_branch` true). Kept by the triggers on `runs`.
    """

    __tablename__ = "recoveries"

    run_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    per_branch: Mapped[bool] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"))
    branch: Mapped[str] = mapped_column(String(255))
    recovered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    time_to_green_us: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_recoveries_recovered_at", "recovered_at"),
        # History refreshes read a pipeline's recoveries of a day.
        Index("ix_recoveries_pipeline_id_recovered_at", "pipeline_id", "recovered_at"),
    )


class RecoveryTotal(Base):
    """Running totals of a scope's recoveries before `hour_start`, one row at the hour after
    each hour with recoveries, so time to green over any window reads two rows per scope
    (sql/functions/recovery_totals_add_v01.sql). The whole-pipeline scope has `per_branch` false
    and branch ''."""

    __tablename__ = "recovery_totals"

    per_branch: Mapped[bool] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"), primary_key=True)
    branch: Mapped[str] = mapped_column(String(255), primary_key=True)
    hour_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    recoveries: Mapped[int] = mapped_column(BigInteger)
    time_to_green_us: Mapped[int] = mapped_column(BigInteger)


class PipelineHourTotal(RollupFigures, Base):
    """Per pipeline (all branches): everything about its runs that started before
    `hour_start`. A row exists for the hour after each hour with runs; a missing hour's totals
    are those of the latest row before it. An unfiltered window of any length is then the
    difference of two rows plus the runs of its edges' own hours
    (sql/functions/pipeline_totals_add_v01.sql, branch_totals_add_v01.sql).
    """

    __tablename__ = "pipeline_hour_totals"

    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"), primary_key=True)
    hour_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)


class HistoryChange(Base):
    """A pipeline's UTC day whose daily history must be recomputed. Noted by triggers on `runs`
    and `recoveries`, taken by refresh_history (sql/functions/refresh_history_v01.sql). No
    foreign key: it is a queue, written on every ingest."""

    __tablename__ = "history_changes"

    pipeline_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class DailyFigures:
    """A day's figures, by the summary's rules (rates and durations over decided runs)."""

    total: Mapped[int] = mapped_column(BigInteger)
    success: Mapped[int] = mapped_column(BigInteger)
    failure: Mapped[int] = mapped_column(BigInteger)
    running: Mapped[int] = mapped_column(BigInteger)
    cancelled: Mapped[int] = mapped_column(BigInteger)
    skipped: Mapped[int] = mapped_column(BigInteger)
    success_rate: Mapped[float | None] = mapped_column(Double)
    avg_duration_sec: Mapped[float | None] = mapped_column(Double)
    p50_duration_sec: Mapped[float | None] = mapped_column(Double)
    p95_duration_sec: Mapped[float | None] = mapped_column(Double)
    recoveries: Mapped[int] = mapped_column(BigInteger)
    mean_time_to_green_sec: Mapped[float | None] = mapped_column(Double)
    refreshed_at: Mapped[datetime] = _timestamp(default_now=True)
    # Where runs record their attempt: the success rate of attempt 1, and re-runs that passed
    # a commit whose earlier attempt failed.
    first_try_success_rate: Mapped[float | None] = mapped_column(Double)
    rerun_recoveries: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # Decided runs per duration bin (sql/functions/duration_bin_v01.sql), and the decided runs
    # of attempt 1 and their successes: what percentiles and rates over several days merge.
    # Recoveries likewise, binned by their time to green in ms.
    duration_hist: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    time_to_green_hist: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    # Failures per UTC quarter-hour of their start (subscripts 1-96), and decided runs per
    # person who triggered them: {"octocat": [failures, decided runs]}.
    failures_by_quarter: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    decided_by_trigger: Mapped[dict[str, list[int]] | None] = mapped_column(JSONB)
    first_try_decided: Mapped[int] = mapped_column(BigInteger, server_default="0")
    first_try_success: Mapped[int] = mapped_column(BigInteger, server_default="0")


class HistoryPipelineDay(DailyFigures, Base):
    """Per pipeline and UTC day of `started_at` (recoveries: of `recovered_at`), all branches."""

    __tablename__ = "history_pipeline_days"

    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class HistoryBranchDay(DailyFigures, Base):
    """As history_pipeline_days, per branch."""

    __tablename__ = "history_branch_days"

    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"), primary_key=True)
    branch: Mapped[str] = mapped_column(String(255), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class HistoryDay(Base):
    """Per UTC day, across all pipelines: history_pipeline_days' histograms, failure counts
    and first-try counts merged, so a year of every pipeline reads 366 rows."""

    __tablename__ = "history_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    duration_hist: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    first_try_decided: Mapped[int] = mapped_column(BigInteger, server_default="0")
    first_try_success: Mapped[int] = mapped_column(BigInteger, server_default="0")
    time_to_green_hist: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    failures_by_quarter: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    decided_by_trigger: Mapped[dict[str, list[int]] | None] = mapped_column(JSONB)
    refreshed_at: Mapped[datetime] = _timestamp(default_now=True)


class HistoryHeal(Base):
    """A success that followed a failure of the same commit on the same pipeline, by the UTC
    day it started, with the start of the latest such failure: flaky commits over a range read
    these instead of a year of runs. Kept by refresh_history."""

    __tablename__ = "history_heals"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(
        ForeignKey("pipelines.id", ondelete="CASCADE"), primary_key=True
    )
    run_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    commit: Mapped[str] = mapped_column(String(64))
    branch: Mapped[str] = mapped_column(String(255))
    healed_at: Mapped[datetime] = _timestamp()
    last_failure_started_at: Mapped[datetime] = _timestamp()


class HealthSnapshot(Base):
    """Each pipeline's all-time health as of the last history refresh, for SQL readers."""

    __tablename__ = "health_snapshot"

    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    failure_streak: Mapped[int] = mapped_column(Integer)
    failing_since: Mapped[datetime | None] = _timestamp(nullable=True)
    last_success_at: Mapped[datetime | None] = _timestamp(nullable=True)
    last_failure_at: Mapped[datetime | None] = _timestamp(nullable=True)
    mean_time_to_green_sec: Mapped[float | None] = mapped_column(Double)
    as_of: Mapped[datetime] = _timestamp()


class HistoryState(Base):
    """One row: when the history was last refreshed, and last rebuilt whole."""

    __tablename__ = "history_state"
    __table_args__ = (CheckConstraint("id", name="one_row"),)

    id: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    refreshed_at: Mapped[datetime | None] = _timestamp(nullable=True)
    full_refreshed_at: Mapped[datetime | None] = _timestamp(nullable=True)


class GithubDelivery(Base):
    """A GitHub webhook delivery that was stored: its id makes a redelivery a no-op."""

    __tablename__ = "github_deliveries"
    __table_args__ = (Index("ix_github_deliveries_received_at", "received_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = _timestamp(default_now=True)
    outcome: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[int | None] = mapped_column(BigInteger)


class GithubJob(Base):
    """A job of a GitHub workflow run, by GitHub's job id; linked to its run by (run id,
    attempt), so a job that arrives before its run is kept and joins it later."""

    __tablename__ = "github_jobs"
    __table_args__ = (Index("ix_github_jobs_run_id_run_attempt", "run_id", "run_attempt"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[int] = mapped_column(BigInteger)
    run_attempt: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(64))
    conclusion: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime | None] = _timestamp(nullable=True)
    started_at: Mapped[datetime | None] = _timestamp(nullable=True)
    completed_at: Mapped[datetime | None] = _timestamp(nullable=True)
    runner_name: Mapped[str | None] = mapped_column(String(1024))
    runner_group: Mapped[str | None] = mapped_column(String(1024))
    runner_labels: Mapped[list[str]] = mapped_column(ARRAY(Text))
    steps: Mapped[list[dict[str, object]]] = mapped_column(JSONB)
    url: Mapped[str | None] = mapped_column(String(2048))
    updated_at: Mapped[datetime] = _timestamp(default_now=True)


class AlertSettings(Base):
    """One row: what the alert decision reads (written by `pulse up` / `pulse worker` from
    their settings at start; the last writer wins)."""

    __tablename__ = "alert_settings"
    __table_args__ = (
        CheckConstraint("id", name="one_row"),
        CheckConstraint("policy in ('transitions', 'every')", name="policy"),
        CheckConstraint("reminder_min >= 0", name="reminder_min"),
    )

    id: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    branches: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    policy: Mapped[str] = mapped_column(String(16), server_default="transitions")
    reminder_min: Mapped[int] = mapped_column(Integer, server_default="30")
    simulated: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    updated_at: Mapped[datetime] = _timestamp(default_now=True)
    updated_by: Mapped[str | None] = mapped_column(String(255))


class AlertState(Base):
    """Each (pipeline, alerting branch)'s state as the alerts last decided it, and the thread
    (the episode's 'failing' alert) its mails join (sql/functions/alert_decide_v01.sql)."""

    __tablename__ = "alert_states"

    pipeline_id: Mapped[int] = mapped_column(
        ForeignKey("pipelines.id", ondelete="CASCADE"), primary_key=True
    )
    branch: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    failing_since: Mapped[datetime | None] = _timestamp(nullable=True)
    failures: Mapped[int] = mapped_column(Integer, server_default="0")
    last_green_commit: Mapped[str | None] = mapped_column(String(64))
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    last_alert_at: Mapped[datetime | None] = _timestamp(nullable=True)
    # The latest decided run the state was decided by: a newer one of the same result takes
    # the fast path.
    latest_finished_at: Mapped[datetime | None] = _timestamp(nullable=True)
    latest_run_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = _timestamp(default_now=True)


class Alert(Base):
    """A mail to send: written in the run's transaction, delivered by `pulse worker`."""

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint("kind in ('failing', 'reminder', 'recovered', 'failure')", name="kind"),
        CheckConstraint("state in ('pending', 'sent', 'failed', 'skipped')", name="state"),
        Index("ix_alerts_due", "next_attempt_at", postgresql_where=text("state = 'pending'")),
        Index("ix_alerts_pipeline_id_id", "pipeline_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"))
    branch: Mapped[str] = mapped_column(String(255))
    run_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("runs.id", ondelete="SET NULL")
    )
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = _timestamp(default_now=True)
    state: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = _timestamp(default_now=True)
    sent_at: Mapped[datetime | None] = _timestamp(nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    facts: Mapped[dict[str, object]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))


class AlertAttempt(Base):
    """One delivery attempt of an alert and what the mail server said."""

    __tablename__ = "alert_attempts"
    __table_args__ = (Index("ix_alert_attempts_alert_id", "alert_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    alert_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("alerts.id", ondelete="CASCADE"))
    attempted_at: Mapped[datetime] = _timestamp(default_now=True)
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
