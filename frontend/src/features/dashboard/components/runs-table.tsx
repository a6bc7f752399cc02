import { Fragment, useRef, useState, type KeyboardEvent, type MouseEvent } from "react";
import type { ApiClient, Run } from "../../../api/client";
import { StatusBadge } from "../../../components/ui/status-badge";
import { formatConclusion, formatDuration, secondsSince, shortSha } from "../../../lib/format";
import { RUNS_PAGE } from "../api/live-reducer";
import { RunJobs } from "./run-jobs";
import { TimeAgo } from "./time-ago";

const COLUMNS = 8;

type Props = {
  client: Pick<ApiClient, "getRunJobs">;
  runs: Run[];
  now: number;
  pipeline: string;
  branch: string;
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
};

export function RunsTable({ client, runs, now, pipeline, branch, hasMore, loadingMore, onLoadMore }: Props) {
  const [openId, setOpenId] = useState<number | null>(null);
  const triggers = useRef(new Map<number, HTMLButtonElement>());

  const close = (id: number) => {
    setOpenId(null);
    triggers.current.get(id)?.focus();
  };
  const onRowKeyDown = (event: KeyboardEvent, id: number) => {
    if (event.key === "Escape" && openId === id) {
      event.preventDefault();
      close(id);
    }
  };
  // The whole row opens the jobs for a pointer; its links and buttons keep their own meaning, and
  // selecting text to copy (a branch, a commit) is not a click on the run.
  const onRowClick = (event: MouseEvent, id: number) => {
    if (event.target instanceof Element && event.target.closest("a, button")) return;
    if (window.getSelection()?.toString()) return;
    setOpenId(openId === id ? null : id);
  };

  const scope = `${pipeline ? ` of ${pipeline}` : ""}${branch ? ` on branch ${branch}` : ""}`;
  return (
    <section className="panel" aria-labelledby="runs-heading">
      <h2 id="runs-heading" className="panel__title">
        Recent Runs
      </h2>
      {runs.some((run) => run.source === "github") && (
        <p className="panel__hint muted">Pick a run to see its jobs: runner, queue time and slowest steps.</p>
      )}
      <div className="table-scroll" tabIndex={0} role="region" aria-labelledby="runs-heading">
        <table className="runs">
          <caption className="visually-hidden">
            Latest {runs.length} runs{scope}, newest first
          </caption>
          <thead>
            <tr>
              <th scope="col">Pipeline</th>
              <th scope="col">Status</th>
              <th scope="col">Branch</th>
              <th scope="col">Commit</th>
              <th scope="col" className="num">
                Duration
              </th>
              <th scope="col">Started</th>
              <th scope="col">Finished</th>
              <th scope="col">Triggered By</th>
            </tr>
          </thead>
          <tbody>
            {runs.length === 0 ? (
              <tr>
                <td colSpan={COLUMNS} className="muted">
                  No runs{scope} yet.
                </td>
              </tr>
            ) : (
              runs.map((run) => {
                const isOpen = run.id === openId;
                const panelId = `run-${run.id}-jobs`;
                return (
                  <Fragment key={run.id}>
                    <tr
                      className={isOpen ? "run run--open" : "run"}
                      onClick={(event) => onRowClick(event, run.id)}
                      onKeyDown={(event) => onRowKeyDown(event, run.id)}
                    >
                      <th scope="row" data-label="Pipeline" className="run__pipeline" title={run.pipeline}>
                        <button
                          type="button"
                          className="link-button run__trigger"
                          ref={(el) => {
                            if (el) triggers.current.set(run.id, el);
                            else triggers.current.delete(run.id);
                          }}
                          aria-label={`${run.pipeline} jobs`}
                          aria-expanded={isOpen}
                          aria-controls={isOpen ? panelId : undefined}
                          onClick={() => setOpenId(isOpen ? null : run.id)}
                        >
                          {run.pipeline}
                        </button>
                      </th>
                      <td data-label="Status">
                        <RunStatus run={run} />
                      </td>
                      <td data-label="Branch" className="clip" title={run.branch || undefined}>
                        {run.branch || "—"}
                      </td>
                      <td data-label="Commit">
                        <Commit sha={run.commit} url={run.url} />
                      </td>
                      <td data-label="Duration" className="num">
                        <Duration run={run} now={now} />
                      </td>
                      <td data-label="Started">
                        <TimeAgo iso={run.started_at} now={now} />
                      </td>
                      <td data-label="Finished">
                        <TimeAgo iso={run.finished_at} now={now} />
                      </td>
                      <td data-label="Triggered By" className="clip" title={run.triggered_by || undefined}>
                        {run.triggered_by || "—"}
                      </td>
                    </tr>
                    {isOpen && (
                      <tr className="run-jobs-row" onKeyDown={(event) => onRowKeyDown(event, run.id)}>
                        <td colSpan={COLUMNS}>
                          <RunJobs id={panelId} client={client} run={run} now={now} onClose={() => close(run.id)} />
                        </td>
                      </tr>
                    )}
                  </Fragment>
                );
              })
            )}
          </tbody>
        </table>
      </div>
      {runs.length > 0 && (hasMore || runs.length > RUNS_PAGE) && (
        <div className="load-more">
          {hasMore && (
            <button
              type="button"
              className="button"
              // aria-disabled rather than disabled: a disabled button drops keyboard focus to the page.
              aria-disabled={loadingMore}
              onClick={loadingMore ? undefined : onLoadMore}
            >
              {loadingMore ? "Loading…" : "Load more"}
            </button>
          )}
          <span className="muted" role="status">
            {hasMore ? "" : "All "}
            {runs.length} {runs.length === 1 ? "run" : "runs"} shown
          </span>
        </div>
      )}
    </section>
  );
}

/**
 * The status word, then what only the CI says: its own word for the result where it is not the same
 * (GitHub's timed_out is a failure here), and which attempt a re-run is.
 */
function RunStatus({ run }: { run: Run }) {
  const conclusion = run.conclusion ? formatConclusion(run.conclusion) : null;
  const rerun = run.attempt != null && run.attempt > 1;
  if (!rerun && (!conclusion || conclusion === run.status)) return <StatusBadge status={run.status} />;
  return (
    <span className="run-status">
      <StatusBadge status={run.status} />
      {conclusion && conclusion !== run.status && (
        <>
          {" "}
          <span className="run-status__conclusion muted" title={`The CI's own result: ${run.conclusion}`}>
            · {conclusion}
          </span>
        </>
      )}
      {rerun && (
        <>
          {" "}
          <span className="tag tag--attempt" title={`A re-run: attempt ${run.attempt} of this CI run`}>
            attempt {run.attempt}
          </span>
        </>
      )}
    </span>
  );
}

function Commit({ sha, url }: { sha: string | null | undefined; url: string | null | undefined }) {
  const short = <code title={sha ?? undefined}>{shortSha(sha)}</code>;
  if (!url) return short;
  return (
    <a href={url} target="_blank" rel="noreferrer noopener" title={sha ? `Open run for ${sha}` : "Open run"}>
      {short}
    </a>
  );
}

/** A running run has no duration yet: how long it has run so far, ticking with `now`. */
function Duration({ run, now }: { run: Run; now: number }) {
  if (run.status !== "running") return formatDuration(run.duration_sec);
  const elapsed = secondsSince(run.started_at, now);
  return <span className="running-for">running{elapsed == null ? "" : ` ${formatDuration(elapsed)}`}</span>;
}
