import type { Run } from "../../../api/client";
import { StatusBadge } from "../../../components/ui/status-badge";
import { formatDuration, shortSha } from "../../../lib/format";
import { TimeAgo } from "./time-ago";

export function RunsTable({ runs, now, branch }: { runs: Run[]; now: number; branch: string }) {
  return (
    <section className="panel" aria-labelledby="runs-heading">
      <h2 id="runs-heading" className="panel__title">
        Recent Runs
      </h2>
      <div className="table-scroll" tabIndex={0} role="region" aria-labelledby="runs-heading">
        <table className="runs">
          <caption className="visually-hidden">
            Latest {runs.length} runs{branch ? ` on branch ${branch}` : ""}, newest first
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
                  No runs{branch ? ` on branch ${branch}` : ""} yet.
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
                    {formatDuration(run.duration_sec)}
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
