import type { Job, JobStep } from "../../api/client";
import { formatConclusion, secondsSince } from "../../lib/format";

// GitHub's conclusions grouped as the API groups a run's (its POST /api/webhooks/github docs), so a
// job reads with the same colour and symbol as the run it belongs to; an unknown one counts as a failure there too.
const CONCLUSION_STATUS: Record<string, string> = {
  success: "success",
  neutral: "success",
  failure: "failure",
  timed_out: "failure",
  startup_failure: "failure",
  cancelled: "cancelled",
  stale: "cancelled",
  skipped: "skipped",
  action_required: "skipped",
};

/** A job's badge: the status whose colour and symbol it takes, and GitHub's own word for it. */
export function jobResult(job: Pick<Job, "status" | "conclusion">): { status: string; label: string } {
  if (job.status === "in_progress") return { status: "running", label: "running" };
  if (job.status !== "completed") return { status: "queued", label: formatConclusion(job.status) };
  if (!job.conclusion) return { status: "unknown", label: "completed" };
  return { status: CONCLUSION_STATUS[job.conclusion] ?? "failure", label: formatConclusion(job.conclusion) };
}

export type TimedStep = { step: JobStep; seconds: number; running: boolean };

/**
 * The steps that took longest, longest first (ties in step order). A step still going counts with how
 * long it has run so far, so a step stuck for minutes shows up before it ends.
 */
export function slowestSteps(steps: JobStep[], now: number, count = 3): TimedStep[] {
  const timed: TimedStep[] = [];
  for (const step of steps) {
    const running = step.status === "in_progress";
    const seconds = running ? secondsSince(step.started_at, now) : step.duration_sec;
    if (seconds != null) timed.push({ step, seconds, running });
  }
  return timed.sort((a, b) => b.seconds - a.seconds || a.step.number - b.step.number).slice(0, count);
}
