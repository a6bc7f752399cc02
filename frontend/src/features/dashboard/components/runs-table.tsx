import type { Run } from "../../../api/client";
import { StatusBadge } from "../../../components/ui/status-badge";
import { formatDuration, secondsSince, shortSha } from "../../../lib/format";
import { RUNS_PAGE } from "../api/live-reducer";
import { TimeAgo } from "./time-ago";

type Props = {
  runs: Run[];
  now: number;
  pipeline: string;
  branch: string;
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
};

export function RunsTable({ runs, now, pipeline, branch, hasMore, loadingMore, onLoadMore }: Props) {
  const scope = `${pipeline ? ` of ${pipeline}` : ""}${branch ? ` on branch ${branch}` : ""}`;
  return (
    <section className="panel" aria-labelledby="runs-heading">
      <h2 id="runs-heading" className="panel__title">
        Recent Runs
      </h2>
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
                <td colSpan={8} className="muted">
                  No runs{scope} yet.
                </td>
              </tr>
            ) : (
              runs.map((run) => (
                <tr key={run.id}>
                  <th scope="row" data-label="Pipeline" className="clip" title={run.pipeline}>
                    {run.pipeline}
                  </th>
                  <td data-label="Status">
                    <StatusBadge status={run.status} />
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
              ))
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
