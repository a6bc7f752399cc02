import type { PipelineSummary } from "../../../api/client";
import { StatusBadge } from "../../../components/ui/status-badge";
import { formatCount, formatDuration, formatRate } from "../../../lib/format";
import { TimeAgo } from "./time-ago";

// The API lists pipelines by name; a broken one should not hide below the fold, so failing ones come
// first (the sort is stable, so each group keeps the API's name order).
function failingFirst(pipelines: PipelineSummary[]): PipelineSummary[] {
  const rank = (p: PipelineSummary) => (p.health.state === "failing" ? 0 : 1);
  return [...pipelines].sort((a, b) => rank(a) - rank(b));
}

export function PipelineHealth({ pipelines, now }: { pipelines: PipelineSummary[]; now: number }) {
  return (
    <section className="panel" aria-labelledby="pipelines-heading">
      <h2 id="pipelines-heading" className="panel__title">
        Pipelines
      </h2>
      {pipelines.length === 0 ? (
        <p className="muted">No pipeline ran in this window.</p>
      ) : (
        <ul className="pipelines">
          {failingFirst(pipelines).map((p) => (
            <li key={p.pipeline} className={`pipeline pipeline--${p.health.state}`}>
              <div className="pipeline__head">
                <h3 className="pipeline__name">{p.pipeline}</h3>
                <StatusBadge status={p.health.state} />
              </div>
              <dl className="pipeline__facts">
                {p.health.state === "failing" && (
                  <>
                    <dt>Failing since</dt>
                    <dd>
                      <TimeAgo iso={p.health.failing_since} now={now} />
                    </dd>
                    <dt>Failure streak</dt>
                    <dd>{formatCount(p.health.failure_streak)}</dd>
                  </>
                )}
                <dt>Success rate</dt>
                <dd>{formatRate(p.success_rate)}</dd>
                <dt>Runs</dt>
                <dd>{formatCount(p.total)}</dd>
                <dt>p95</dt>
                <dd>{formatDuration(p.p95_duration_sec)}</dd>
              </dl>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
