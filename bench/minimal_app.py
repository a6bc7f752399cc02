"""The floor for HTTP ingest: the least a FastAPI app can do to store one run per request.

One POST endpoint validates the body with a plain pydantic model and runs the same single-row
INSERT the raw row of `bench.ingest` runs (`INSERT_RUN`), on an autocommit connection from a
psycopg pool; it answers `{"id": ...}`. No auth, no ORM, no SQL function: whatever our API costs
beyond this is the price of its features and of how it is built.

Served exactly as our API is (`uvicorn.run` with a factory, the same worker count, access log
off, uvicorn's default loop and HTTP implementation):

    BENCH_DATABASE_URL=postgresql://... python -m bench.minimal_app --port 8001 --workers 2
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel

# The pipeline's id is looked up inside the statement: still one statement, one round trip.
INSERT_RUN = """
insert into runs (
    pipeline_id, status, started_at, finished_at, duration_sec, branch, commit, triggered_by
)
values (
    (select id from pipelines where name = %(pipeline)s), %(status)s,
    now() - make_interval(secs => %(duration_sec)s), now(), %(duration_sec)s,
    %(branch)s, %(commit)s, %(triggered_by)s
)
returning id
"""

# Per worker: enough for every client of a run to be served by one worker at once.
POOL_SIZE = 16


class RunIn(BaseModel):
    pipeline: str
    status: str
    duration_sec: float
    branch: str
    commit: str
    triggered_by: str


def create_app() -> FastAPI:
    # async def + AsyncConnectionPool: the faster of the two honest minimal forms here. Measured
    # against sync def + ConnectionPool (16 clients, 2 workers, 8 s): 3,400-4,100 runs/s against
    # 1,700-2,600, as a sync endpoint pays a threadpool hop per request.
    url = os.environ["BENCH_DATABASE_URL"]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = AsyncConnectionPool(
            url, min_size=POOL_SIZE, max_size=POOL_SIZE, kwargs={"autocommit": True}, open=False
        )
        await pool.open(wait=True)
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/")
    async def ready() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/runs")
    async def create_run(run: RunIn, request: Request) -> dict[str, int]:
        pool: AsyncConnectionPool[AsyncConnection] = request.app.state.pool
        async with pool.connection() as conn:
            cursor = await conn.execute(INSERT_RUN, run.model_dump())
            row = await cursor.fetchone()
        assert row is not None  # INSERT ... RETURNING always returns its row
        return {"id": row[0]}

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    # The same call `pulse api` makes for our app, so the two differ only in the app.
    uvicorn.run(
        "bench.minimal_app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_level="info",
    )


if __name__ == "__main__":
    main()
