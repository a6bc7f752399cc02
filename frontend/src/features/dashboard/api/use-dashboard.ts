import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import type { ApiClient, Info, Pipeline } from "../../../api/client";
import type { Filters } from "../../../lib/url-state";
import { RUNS_SHOWN, dashboardReducer, initialData, type LiveMessage } from "./live-reducer";

export const DEMO_PIPELINES = ["web", "api", "worker", "docs"];

export type LoadState = { phase: "loading" } | { phase: "error"; message: string } | { phase: "ready" };

/** The dashboard's data: a first load over REST, then whatever the live socket says. */
export function useDashboard(client: ApiClient, filters: Filters, notify: (message: string) => void) {
  const [data, dispatch] = useReducer(dashboardReducer, initialData);
  const [load, setLoad] = useState<LoadState>({ phase: "loading" });
  const [info, setInfo] = useState<Info | null>(null);
  const [pipelines, setPipelines] = useState<Pipeline[]>([]);
  const [attempt, setAttempt] = useState(0);
  const loaded = useRef(false);
  const { minutes, branch } = filters;

  useEffect(() => {
    let cancelled = false;
    const firstLoad = !loaded.current;
    const runsQuery = { limit: RUNS_SHOWN, branch };
    Promise.all([
      client.getSummary({ minutes, branch }),
      client.getRuns(runsQuery),
      client.getInfo(),
      client.getPipelines(),
    ]).then(
      ([summary, runs, info, pipelines]) => {
        if (cancelled) return;
        dispatch({ type: "loaded", summary, runs });
        setInfo(info);
        setPipelines(pipelines);
        loaded.current = true;
        setLoad({ phase: "ready" });
      },
      (error: unknown) => {
        if (cancelled) return;
        const message = error instanceof Error ? error.message : String(error);
        if (firstLoad) setLoad({ phase: "error", message });
        else notify(`Could not refresh: ${message}`);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [client, minutes, branch, attempt, notify]);

  const retry = useCallback(() => {
    setLoad({ phase: "loading" });
    setAttempt((n) => n + 1);
  }, []);

  const reloadRuns = useCallback(() => {
    client.getRuns({ limit: RUNS_SHOWN, branch }).then(
      (runs) => dispatch({ type: "runs_loaded", runs }),
      (error: unknown) => notify(`Could not reload runs: ${error instanceof Error ? error.message : String(error)}`),
    );
    client.getPipelines().then(setPipelines, () => undefined);
  }, [client, branch, notify]);

  const knownBranches = useRef(new Set<string>());
  useEffect(() => {
    knownBranches.current = new Set(pipelines.flatMap((p) => p.branches));
  }, [pipelines]);

  const applyLive = useCallback(
    (message: LiveMessage) => {
      dispatch({ type: "live", message });
      // A branch never seen before belongs in the branch filter's options.
      if (message.type === "runs_update" && message.payload.some((run) => !knownBranches.current.has(run.branch))) {
        client.getPipelines().then(setPipelines, () => undefined);
      }
    },
    [client],
  );

  return { data, load, info, pipelines, retry, reloadRuns, applyLive };
}
