import { useCallback, useEffect, useState } from "react";
import type { ApiClient, Job } from "../../../api/client";

/**
 * The live socket carries runs, not jobs: while a run is going its jobs are asked for again this often.
 * Only for the run whose jobs are open, so it costs one small request per interval at most.
 */
export const JOBS_POLL_MS = 10_000;

export type JobsState = { phase: "loading" } | { phase: "error"; message: string } | { phase: "ready"; jobs: Job[] };

/** GET /api/runs/{id}/jobs for one run, again when the run finishes and every JOBS_POLL_MS until then. */
export function useRunJobs(client: Pick<ApiClient, "getRunJobs">, runId: number, runFinished: boolean) {
  const [state, setState] = useState<JobsState>({ phase: "loading" });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let cancelled = false;
    let timer: number | undefined;
    const load = () => {
      client.getRunJobs(runId).then(
        (jobs) => {
          if (cancelled) return;
          setState({ phase: "ready", jobs });
          if (!runFinished) timer = window.setTimeout(load, JOBS_POLL_MS);
        },
        (error: unknown) => {
          if (cancelled) return;
          const message = error instanceof Error ? error.message : String(error);
          // A refresh that fails keeps the jobs already shown: they are still true, just not newer.
          setState((previous) => (previous.phase === "ready" ? previous : { phase: "error", message }));
          if (!runFinished) timer = window.setTimeout(load, JOBS_POLL_MS);
        },
      );
    };
    load();
    return () => {
      cancelled = true;
      window.clearTimeout(timer);
    };
  }, [client, runId, runFinished, attempt]);

  const retry = useCallback(() => {
    setState({ phase: "loading" });
    setAttempt((n) => n + 1);
  }, []);

  return { state, retry };
}
