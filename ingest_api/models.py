"""ORM tables: the seed's `pipelines` and `runs`, plus run identity and bookkeeping columns."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Double,
    Enum,
    ForeignKey,
    Identity,
    Index,
    MetaData,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Deterministic constraint names, so migrations and `alembic check` agree across machines.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class RunStatus(enum.StrEnum):
    running = "running"
    success = "success"
    failure = "failure"
    cancelled = "cancelled"
    skipped = "skipped"


TERMINAL = frozenset({RunStatus.success, RunStatus.failure, RunStatus.cancelled, RunStatus.skipped})
DECIDED = frozenset({RunStatus.success, RunStatus.failure})


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

    runs: Mapped[list[Run]] = relationship(back_populates="pipeline", lazy="raise")


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_runs_pipeline_id_started_at", "pipeline_id", text("started_at DESC")),
        Index("ix_runs_status", "status"),
        Index("ix_runs_started_at_id", "started_at", "id"),
        # Health reads the latest decided runs of a pipeline by finished_at.
        Index(
            "ix_runs_decided",
            "pipeline_id",
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

    pipeline: Mapped[Pipeline] = relationship(back_populates="runs", lazy="raise")
