import { useCallback, useEffect, useLayoutEffect, useReducer, useRef, useState } from "react";
import type { ApiClient, Info, Pipeline, Run } from "../../../api/client";
import type { Filters } from "../../../lib/url-state";
import { RUNS_LIMIT_MAX, RUNS_PAGE, dashboardReducer, initialData, type LiveMessage } from "./live-reducer";

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
  const { minutes, pipeline, branch } = filters;
  // Callbacks read the rows through a ref so that a live message does not make new callbacks.
  const latest = useRef(data);
  useLayoutEffect(() => {
    latest.current = data;
  });
  // Bumped by every load that replaces the runs: a "Load more" page asked for before it no longer fits.
  const generation = useRef(0);

  useEffect(() => {
    let cancelled = false;
    const firstLoad = !loaded.current;
    generation.current += 1;
    Promise.all([
      client.getSummary({ minutes, pipeline, branch }),
      client.getRuns({ limit: RUNS_PAGE, pipeline, branch }),
      client.getInfo(),
      client.getPipelines(),
    ]).then(
      ([summary, page, info, pipelines]) => {
        if (cancelled) return;
        dispatch({ type: "loaded", summary, page });
        setInfo(info);
        setPipelines(pipelines);
        loaded.current = true;
        setLoad({ phase: "ready" });
      },
      (error: unknown) => {
        if (cancelled) return;
        const message = errorText(error);
        if (firstLoad) setLoad({ phase: "error", message });
        else notify(`Could not refresh: ${message}`);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [client, minutes, pipeline, branch, attempt, notify]);

  const retry = useCallback(() => {
    setLoad({ phase: "loading" });
    setAttempt((n) => n + 1);
  }, []);

  /** The runs again, as many rows as the table shows now (after a reconnect, or a simulation). */
  const reloadRuns = useCallback(() => {
    const mine = ++generation.current;
    const { runs, keep } = latest.current;
    const limit = Math.min(RUNS_LIMIT_MAX, Math.max(RUNS_PAGE, runs.length));
    client.getRuns({ limit, pipeline, branch }).then(
      (page) => {
        if (mine === generation.current) dispatch({ type: "runs_loaded", page, keep });
      },
      (error: unknown) => notify(`Could not reload runs: ${errorText(error)}`),
    );
    client.getPipelines().then(setPipelines, () => undefined);
  }, [client, pipeline, branch, notify]);

  const loadMore = useCallback(() => {
    const { runs, nextCursor, gap, loadingMore } = latest.current;
    if (loadingMore || (nextCursor == null && !gap)) return;
    const mine = generation.current;
    dispatch({ type: "more_requested" });
    const query =
      gap || nextCursor == null
        ? { limit: Math.min(RUNS_LIMIT_MAX, runs.length + RUNS_PAGE), pipeline, branch }
        : { limit: RUNS_PAGE, pipeline, branch, before: nextCursor };
    client.getRuns(query).then(
      (page) => {
        if (mine === generation.current) dispatch({ type: "more_loaded", page });
      },
      (error: unknown) => {
        if (mine === generation.current) dispatch({ type: "more_failed" });
        notify(`Could not load more runs: ${errorText(error)}`);
      },
    );
  }, [client, pipeline, branch, notify]);

  const known = useRef({ pipelines: new Set<string>(), branches: new Set<string>() });
  useEffect(() => {
    known.current = {
      pipelines: new Set(pipelines.map((p) => p.name)),
      branches: new Set(pipelines.flatMap((p) => p.branches)),
    };
  }, [pipelines]);

  const applyLive = useCallback(
    (message: LiveMessage) => {
      dispatch({ type: "live", message });
      // A pipeline or branch never seen before belongs in the filters' options.
      const isNew = (run: Run) => !known.current.pipelines.has(run.pipeline) || !known.current.branches.has(run.branch);
      if (message.type === "runs_update" && message.payload.some(isNew)) {
        client.getPipelines().then(setPipelines, () => undefined);
      }
    },
    [client],
  );

  const hasMore = data.nextCursor != null || data.gap;
  return { data, load, info, pipelines, hasMore, retry, reloadRuns, loadMore, applyLive };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
