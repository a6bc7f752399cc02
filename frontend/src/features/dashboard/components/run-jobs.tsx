import type { ApiClient, Job, Run } from "../../../api/client";
import { StatusBadge } from "../../../components/ui/status-badge";
import { formatConclusion, formatDuration, secondsSince, shortSha } from "../../../lib/format";
import { useRunJobs } from "../api/use-run-jobs";
import { jobResult, slowestSteps } from "../jobs";

type Props = {
  id: string;
  client: Pick<ApiClient, "getRunJobs">;
  run: Run;
  now: number;
  onClose: () => void;
};

/** The CI jobs of one run: result, runner, time queued and run, and where the time went. */
export function RunJobs({ id, client, run, now, onClose }: Props) {
  const { state, retry } = useRunJobs(client, run.id, run.status !== "running");
  const headingId = `${id}-heading`;
  return (
    <section id={id} className="run-jobs" aria-labelledby={headingId}>
      <div className="run-jobs__head">
        <h3 id={headingId} className="run-jobs__title">
          Jobs of {run.pipeline} <span className="muted">at</span> <code>{shortSha(run.commit)}</code>
          {run.attempt != null && run.attempt > 1 && <span className="muted"> · attempt {run.attempt}</span>}
        </h3>
        <button type="button" className="button button--small" aria-label="Close jobs" onClick={onClose}>
          Close
        </button>
      </div>
      {state.phase === "loading" && (
        <p className="muted" role="status">
          Loading jobs…
        </p>
      )}
      {state.phase === "error" && (
        <div className="run-jobs__error" role="alert">
          <p>Could not load the jobs: {state.message}</p>
          <button type="button" className="button button--small" onClick={retry}>
            Try again
          </button>
        </div>
      )}
      {state.phase === "ready" &&
        (state.jobs.length === 0 ? (
          <p className="muted">No jobs recorded for this run — jobs come from GitHub's workflow_job webhook.</p>
        ) : (
          <ul className="jobs">
            {state.jobs.map((job) => (
              <JobItem key={job.id} job={job} now={now} />
            ))}
          </ul>
        ))}
    </section>
  );
}

function JobItem({ job, now }: { job: Job; now: number }) {
  const result = jobResult(job);
  const steps = slowestSteps(job.steps, now);
  return (
    <li className="job">
      <div className="job__head">
        <StatusBadge status={result.status} label={result.label} />
        <span className="job__name">
          {job.url ? (
            <a href={job.url} target="_blank" rel="noopener noreferrer" aria-label={`${job.name} (opens in a new tab)`}>
              {job.name} <span aria-hidden="true">↗</span>
            </a>
          ) : (
            job.name
          )}
        </span>
      </div>
      <dl className="job__facts">
        <div>
          <dt>Runner</dt>
          <dd>
            <Runner job={job} />
          </dd>
        </div>
        <div>
          <dt>Queued</dt>
          <dd>
            <QueueTime job={job} now={now} />
          </dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>
            <JobDuration job={job} now={now} />
          </dd>
        </div>
      </dl>
      <div className="job__steps">
        <h4 className="job__steps-title">
          Slowest steps
          {job.steps.length > 0 && <span className="muted"> of {job.steps.length}</span>}
        </h4>
        {steps.length === 0 ? (
          <p className="muted">No step timings yet.</p>
        ) : (
          <ol className="steps">
            {steps.map(({ step, seconds, running }) => (
              <li key={step.number} className="step">
                <span className="step__name">
                  {step.name}
                  {step.conclusion && !["success", "skipped"].includes(step.conclusion) && (
                    <span className="muted"> · {formatConclusion(step.conclusion)}</span>
                  )}
                </span>
                <span className={running ? "step__time running-for" : "step__time"}>
                  {running ? `running ${formatDuration(seconds)}` : formatDuration(seconds)}
                </span>
              </li>
            ))}
          </ol>
        )}
      </div>
    </li>
  );
}

function Runner({ job }: { job: Job }) {
  if (!job.runner_name && !job.runner_group && job.runner_labels.length === 0) {
    return <span className="muted">{job.started_at ? "—" : "not assigned yet"}</span>;
  }
  return (
    <span className="runner">
      {job.runner_name && <strong>{job.runner_name}</strong>}
      {job.runner_group && <span className="muted">{job.runner_name ? " · " : ""}group {job.runner_group}</span>}
      {job.runner_labels.length > 0 && (
        <ul className="labels" aria-label="Runner labels">
          {job.runner_labels.map((label) => (
            <li key={label} className="tag">
              {label}
            </li>
          ))}
        </ul>
      )}
    </span>
  );
}

/** Time waiting for a runner; still counting while the job waits. */
function QueueTime({ job, now }: { job: Job; now: number }) {
  if (job.queue_sec != null) return formatDuration(job.queue_sec);
  if (job.status === "queued" || job.status === "waiting") {
    const waited = secondsSince(job.created_at, now);
    return <span className="running-for">waiting{waited == null ? "" : ` ${formatDuration(waited)}`}</span>;
  }
  return formatDuration(null);
}

/** Like a running run's: how long it has run so far, ticking with `now`. */
function JobDuration({ job, now }: { job: Job; now: number }) {
  if (job.status !== "in_progress") return formatDuration(job.duration_sec);
  const elapsed = secondsSince(job.started_at, now);
  return <span className="running-for">running{elapsed == null ? "" : ` ${formatDuration(elapsed)}`}</span>;
}
