import type { Pipeline, PipelineSummary } from "../../../api/client";
import { Fragment } from "react";
import { StatusBadge } from "../../../components/ui/status-badge";
import { formatCount, formatDuration, formatRate } from "../../../lib/format";
import { TimeAgo } from "./time-ago";

// The API lists pipelines by name; a broken one should not hide below the fold, so failing ones come
// first (the sort is stable, so each group keeps the API's name order).
function failingFirst(pipelines: PipelineSummary[]): PipelineSummary[] {
  const rank = (p: PipelineSummary) => (p.health.state === "failing" ? 0 : 1);
  return [...pipelines].sort((a, b) => rank(a) - rank(b));
}

type Props = {
  pipelines: PipelineSummary[];
  now: number;
  /** Each pipeline's page in its CI (a GitHub workflow's), by name, where known. */
  urls?: ReadonlyMap<string, string>;
  /** Each pipeline's latest alert mail (from GET /api/pipelines). */
  alerts?: ReadonlyMap<string, NonNullable<Pipeline["last_alert"]>>;
  /** The pipeline the dashboard is narrowed to; empty for all. */
  selected: string;
  onSelect: (pipeline: string) => void;
};

export function PipelineHealth({ pipelines, now, urls, alerts, selected, onSelect }: Props) {
  return (
    <section className="panel" aria-labelledby="pipelines-heading">
      <div className="panel__head">
        <h2 id="pipelines-heading" className="panel__title">
          Pipelines
        </h2>
        {selected && (
          <button type="button" className="link-button" onClick={() => onSelect("")}>
            All pipelines
          </button>
        )}
      </div>
      {pipelines.length === 0 ? (
        <p className="muted">{selected ? `${selected} did not run in this window.` : "No pipeline ran in this window."}</p>
      ) : (
        <>
          {!selected && pipelines.length > 1 && <p className="panel__hint muted">Pick one to see only its runs.</p>}
          <ul className="pipelines">
            {failingFirst(pipelines).map((p) => {
              const isSelected = p.pipeline === selected;
              const url = urls?.get(p.pipeline);
              const alert = alerts?.get(p.pipeline);
              return (
                <li key={p.pipeline} className={`pipeline pipeline--${p.health.state}`}>
                  <div className="pipeline__head">
                    <h3 className="pipeline__name">
                      <button
                        type="button"
                        className="link-button"
                        aria-pressed={isSelected}
                        title={isSelected ? "Show all pipelines" : `Show only ${p.pipeline}`}
                        onClick={() => onSelect(isSelected ? "" : p.pipeline)}
                      >
                        <BreakAfterSlashes text={p.pipeline} />
                      </button>
                    </h3>
                    <StatusBadge status={p.health.state} />
                  </div>
                  {url && (
                    <a
                      className="pipeline__ci"
                      href={url}
                      target="_blank"
                      rel="noopener noreferrer"
                      aria-label={`${p.pipeline} workflow (opens in a new tab)`}
                    >
                      workflow <span aria-hidden="true">↗</span>
                    </a>
                  )}
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
                    {alert && (
                      <>
                        <dt>Last alert</dt>
                        <dd title={`${alert.kind} on ${alert.branch}: ${alert.state}`}>
                          {describeAlert(alert)} <TimeAgo iso={alert.sent_at ?? alert.created_at} now={now} />
                        </dd>
                      </>
                    )}
                  </dl>
                </li>
              );
            })}
          </ul>
        </>
      )}
    </section>
  );
}

/** GitHub's pipelines are named owner/repo/workflow: in a narrow card they wrap at a slash, not mid-word. */
function BreakAfterSlashes({ text }: { text: string }) {
  const parts = text.split("/");
  return parts.map((part, i) => (
    <Fragment key={i}>
      {part}
      {i < parts.length - 1 && (
        <>
          /<wbr />
        </>
      )}
    </Fragment>
  ));
}

const ALERT_WORDS: Record<string, string> = {
  failing: "failing",
  reminder: "still failing",
  recovered: "recovered",
  failure: "failed",
};
const DELIVERY_WORDS: Record<string, string> = {
  pending: "mail pending",
  sent: "mailed",
  failed: "mail failed",
  skipped: "not mailed",
};

/** "failing on main, mailed" — what the alert said and whether the mail went out. */
function describeAlert(alert: NonNullable<Pipeline["last_alert"]>): string {
  return `${ALERT_WORDS[alert.kind] ?? alert.kind} on ${alert.branch}, ${DELIVERY_WORDS[alert.state] ?? alert.state}`;
}
