"""Demo data that looks like real CI: per-pipeline log-normal durations, a main branch with
feature branches, 40-hex commits and a cast of actors. Every run goes through the ingest path."""

from __future__ import annotations

import hashlib
import math
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from analytics.models import RunStatus
from ingest_api.runs import service as runs_service
from ingest_api.runs.schemas import RunEvent

SOURCE = "simulator"
ACTORS = ("octocat", "hubot", "monalisa", "dependabot[bot]", "renovate[bot]", "ada", "linus")
FEATURES = ("feat/login", "fix/flaky-cache", "chore/deps", "feat/search", "perf/db-pool")


@dataclass(frozen=True)
class Profile:
    """A pipeline's character, fixed by its name so repeated simulations agree."""

    median_sec: float
    sigma: float
    branches: tuple[str, ...]

    @classmethod
    def of(cls, pipeline: str) -> Profile:
        seed = int.from_bytes(hashlib.sha256(pipeline.encode()).digest()[:8], "big")
        rng = random.Random(seed)
        return cls(
            median_sec=math.exp(rng.uniform(math.log(30), math.log(900))),
            sigma=rng.uniform(0.25, 0.6),
            branches=("main", *rng.sample(FEATURES, k=rng.randint(1, 3))),
        )


def events(
    pipelines: list[str],
    *,
    count: int,
    fail_rate: float,
    now: datetime,
    hours: float = 24.0,
    rng: random.Random | None = None,
) -> Iterator[RunEvent]:
    """`count` finished runs spread over the last `hours`, failures at `fail_rate`."""
    rng = rng or random.Random()
    profiles = {p: Profile.of(p) for p in pipelines}
    for _ in range(count):
        pipeline = rng.choice(pipelines)
        profile = profiles[pipeline]
        duration = round(rng.lognormvariate(math.log(profile.median_sec), profile.sigma), 3)
        finished = now - timedelta(seconds=rng.uniform(0, hours * 3600))
        roll = rng.random()
        if roll < fail_rate:
            status = RunStatus.failure
        elif roll < fail_rate + (1 - fail_rate) * 0.02:
            status = RunStatus.cancelled
        elif roll < fail_rate + (1 - fail_rate) * 0.03:
            status = RunStatus.skipped
            duration = round(rng.uniform(0, 2), 3)
        else:
            status = RunStatus.success
        # Most work lands on main; feature branches share the rest.
        branch = "main" if rng.random() < 0.6 else rng.choice(profile.branches[1:])
        yield RunEvent(
            pipeline=pipeline,
            status=status,
            finished_at=finished,
            duration_sec=duration,
            branch=branch,
            commit=f"{rng.getrandbits(160):040x}",
            triggered_by=rng.choice(ACTORS),
            source=SOURCE,
            external_id=str(uuid.UUID(int=rng.getrandbits(128))),
        )


def simulate(
    session: Session,
    pipelines: list[str],
    *,
    count: int,
    fail_rate: float,
    hours: float = 24.0,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Ingest simulated runs in the caller's transaction; returns how many were stored."""
    now = session.execute(text("select now()")).scalar_one()
    batch = list(events(pipelines, count=count, fail_rate=fail_rate, now=now, hours=hours))
    # Ingest locks one pipeline at a time until commit; taking them in name order keeps two
    # simulations in flight from deadlocking. Oldest first within a pipeline: a run rewrites
    # every running-total row after its hour, so random order cost O(count x hours) rows.
    batch.sort(key=lambda event: (event.pipeline, event.finished_at or now))
    stored = 0
    for event in batch:
        runs_service.ingest(session, event)
        stored += 1
        if on_progress is not None:
            on_progress(stored)
    return stored
