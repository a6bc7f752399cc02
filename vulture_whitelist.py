"""Code vulture takes for unused because a framework calls it by registration or by name.

`vulture ingest_api analytics bench tests vulture_whitelist.py` reads this file with the rest:
every name below counts as used. The file is never run; vulture matches names, not objects.
"""

# ruff: noqa: B018 (each line is a name vulture should see used, nothing more)


class _Anything:
    def __getattr__(self, name: str) -> None:
        return None


_ = _Anything()

# Registered by decorator: FastAPI routes and exception handlers, typer commands.
_.create_run
_.ingest_run
_.list_runs
_.list_pipelines
_.metrics_socket
_.swagger_ui
_.swagger_ui_redirect
_.redoc
_._pulse
_._validation
_._http
_._pool
_.ui
_.sql_role
_.migrate_command
_.rebuild_rollups
_.psql
_.runs_delete

# pydantic: configuration, validators, and response fields only the JSON encoder reads.
_.model_config
_._finite
_._split_origins
_._refuse_placeholder
_._note_ignored
_._strip_name
_._strip
_._no_nul
_._as_utc
_._http_url
_._names
_._empty_is_none
_.last_run_at
_.listening
_.tick_ms
_.subscriptions
_.database
_.database_version

# SQLAlchemy tables and columns the SQL functions write: the metadata `alembic check` compares.
_.BranchHourTotal
_.PipelineHourTotal
_.Recovery
_.RecoveryTotal
_.HistoryChange
_.HistoryPipelineDay
_.HistoryBranchDay
_.HealthSnapshot
_.HistoryState
_.created_at
_.updated_at
_.decided_duration_ms
_.duration_hist
_.per_branch
_.recovered_at
_.time_to_green_us
_.refreshed_at
_.full_refreshed_at

# Alembic reads a migration's revision identifiers by name.
_.down_revision
_.branch_labels
_.depends_on

# Read by key or by protocol: a TypedDict key, a module __getattr__, signatures a caller fixes.
_.owner_pid
_.__getattr__
_.exc_type
_.tb
_.handle_starttag
_.tag
_.should_exit

# pytest: module marks, and fixtures requested for their effect (by parameter name or autouse).
_.pytestmark
_.baseline
_.template_url
_._subreaper

# schemathesis: a hook registered by decorator and called by its name (tests/fuzz).
_.before_generate_case

# Response fields only the JSON encoder reads (runs' jobs, deliveries, alerts).
_.queue_sec
_.runner_group
_.runner_labels
_.received_at
_.sent_at

# uvicorn's app factory in each API worker, named as "ingest_api.cli:api_worker_app", and the
# HTTP protocol it runs, named as "ingest_api.connections:GuardedHttp".
_.api_worker_app
_.GuardedHttp

# Protocols called by name: aiosmtpd handlers; migrations (excluded from the scan) call these.
_.handle_DATA
_.create_reader_role
_.list_alerts
_.alerts_test
_._split_list
_._addresses
_._credentials_encrypted

# The Streamlit tests: fixtures by name, and the seed dataclass's fields read through __dict__.
_._fresh_caches
_._seeded
_.triggered_by
_.external_id
_.source
_.branch
