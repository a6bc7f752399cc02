import type { Summary } from "../../../api/client";
import { StatusBadge } from "../../../components/ui/status-badge";
import { formatCount, formatDuration, formatRate } from "../../../lib/format";
import { lastBuildPipeline } from "../last-build";
import { TimeAgo } from "./time-ago";

export function KpiCards({ summary, now }: { summary: Summary; now: number }) {
  const lastPipeline = lastBuildPipeline(summary);
  return (
    <section className="kpis" aria-label="Key figures">
      <article className="kpi">
        <h2 className="kpi__label">Total Runs</h2>
        <p className="kpi__value" data-testid="kpi-total">
          {formatCount(summary.total)}
        </p>
        <p className="kpi__sub">
          {summary.running > 0 ? `${formatCount(summary.running)} running` : "none running"}
        </p>
      </article>
      <article className="kpi">
        <h2 className="kpi__label">Success / Failure</h2>
        <p className="kpi__value">
          <span className="num-success">{formatCount(summary.success)}</span>
          <span className="visually-hidden"> succeeded</span>
          <span className="kpi__sep" aria-hidden="true">
            {" / "}
          </span>
          <span className="num-failure">{formatCount(summary.failure)}</span>
          <span className="visually-hidden"> failed</span>
        </p>
        <p className="kpi__sub">
          Success rate <strong data-testid="kpi-rate">{formatRate(summary.success_rate)}</strong>
        </p>
      </article>
      <article className="kpi">
        <h2 className="kpi__label">Average Duration</h2>
        <p className="kpi__value" data-testid="kpi-avg">
          {formatDuration(summary.avg_duration_sec)}
        </p>
        <p className="kpi__sub">
          p95 <strong data-testid="kpi-p95">{formatDuration(summary.p95_duration_sec)}</strong>
        </p>
      </article>
      <article className="kpi">
        <h2 className="kpi__label">Last Build Status</h2>
        <p className="kpi__value kpi__value--last" data-testid="kpi-last">
          {summary.last_status ? <StatusBadge status={summary.last_status} /> : <span className="muted">no result</span>}
          {summary.last_status && lastPipeline && (
            <span className="kpi__pipeline" title={lastPipeline}>
              <span className="visually-hidden"> in </span>
              {lastPipeline}
            </span>
          )}
        </p>
        <p className="kpi__sub">
          {summary.last_finished_at ? (
            <>
              finished <TimeAgo iso={summary.last_finished_at} now={now} />
            </>
          ) : (
            "in this window"
          )}
        </p>
      </article>
    </section>
  );
}
