import { useCallback, useMemo } from "react";
import type { ApiClient } from "../../../api/client";
import { Toasts } from "../../../components/ui/toasts";
import { useToasts } from "../../../hooks/use-toasts";
import { useNow } from "../../../hooks/use-now";
import type { Filters as FilterValues } from "../../../lib/url-state";
import { DEMO_PIPELINES, useDashboard } from "../api/use-dashboard";
import { useLiveMetrics, type BackoffOptions } from "../api/use-live-metrics";
import { ConnectionStatus } from "./connection-status";
import { EmptyState } from "./empty-state";
import { ErrorState } from "./error-state";
import { Filters } from "./filters";
import { Header } from "./header";
import { trendsLink } from "../../../lib/url-state";
import { KpiCards } from "./kpi-cards";
import { LoadingSkeleton } from "./loading-skeleton";
import { PipelineHealth } from "./pipeline-health";
import { RunsTable } from "./runs-table";
import { StaleNotice } from "./stale-notice";

type Props = {
  client: ApiClient;
  apiUrl: string;
  /** The Streamlit trends app, linked from the header with the same filters. */
  trendsUrl?: string;
  filters: FilterValues;
  onFiltersChange: (filters: FilterValues) => void;
  backoff?: BackoffOptions;
};

export function Dashboard({ client, apiUrl, trendsUrl, filters, onFiltersChange, backoff }: Props) {
  const now = useNow();
  const { toasts, notify, dismiss } = useToasts();
  const { data, load, info, pipelines, hasMore, retry, reloadRuns, loadMore, applyLive } = useDashboard(
    client,
    filters,
    notify,
  );
  const connection = useLiveMetrics({
    apiUrl,
    minutes: filters.minutes,
    pipeline: filters.pipeline,
    branch: filters.branch,
    onMessage: applyLive,
    onReconnected: reloadRuns,
    backoff,
  });

  const pipelineNames = useMemo(() => pipelines.map((p) => p.name), [pipelines]);
  // The summary's per-pipeline figures do not carry the CI's page; GET /api/pipelines does.
  const pipelineUrls = useMemo(
    () => new Map(pipelines.flatMap((p) => (p.url ? [[p.name, p.url] as const] : []))),
    [pipelines],
  );
  const pipelineAlerts = useMemo(
    () => new Map(pipelines.flatMap((p) => (p.last_alert ? [[p.name, p.last_alert] as const] : []))),
    [pipelines],
  );
  // With a pipeline chosen, only its branches: any other would show nothing.
  const branches = useMemo(() => {
    const all = new Set<string>();
    for (const p of pipelines) {
      if (filters.pipeline && p.name !== filters.pipeline) continue;
      for (const b of p.branches) if (b) all.add(b);
    }
    return [...all].sort((a, b) => a.localeCompare(b));
  }, [pipelines, filters.pipeline]);

  const selectPipeline = useCallback(
    (pipeline: string) => onFiltersChange({ ...filters, pipeline }),
    [filters, onFiltersChange],
  );

  const simulate = useCallback(async () => {
    try {
      const result = await client.simulate({ count: 50, fail_rate: 0.25 }, { pipelines: DEMO_PIPELINES });
      notify(`Simulated ${result.created} runs.`);
      reloadRuns();
    } catch (error) {
      notify(`Simulation failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }, [client, notify, reloadRuns]);

  const { summary, runs } = data;
  const isEmpty = summary != null && summary.total === 0 && runs.length === 0 && !filters.pipeline && !filters.branch;

  let body;
  if (load.phase === "error") body = <ErrorState message={load.message} apiUrl={apiUrl} onRetry={retry} />;
  else if (load.phase === "loading" || summary == null) body = <LoadingSkeleton />;
  else if (isEmpty) body = <EmptyState apiUrl={apiUrl} demo={info?.demo ?? false} onSimulate={simulate} />;
  else
    body = (
      <>
        <StaleNotice state={connection} asOf={data.asOf} now={now} />
        <KpiCards summary={summary} now={now} />
        <div className="columns">
          <PipelineHealth
            pipelines={summary.per_pipeline}
            now={now}
            urls={pipelineUrls}
            alerts={pipelineAlerts}
            selected={filters.pipeline}
            onSelect={selectPipeline}
          />
          <RunsTable
            client={client}
            runs={runs}
            now={now}
            pipeline={filters.pipeline}
            branch={filters.branch}
            hasMore={hasMore}
            loadingMore={data.loadingMore}
            onLoadMore={loadMore}
          />
        </div>
      </>
    );

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header info={info} trendsHref={trendsUrl ? trendsLink(trendsUrl, filters) : undefined}>
        <div className="header__controls">
          <Filters filters={filters} pipelines={pipelineNames} branches={branches} onChange={onFiltersChange} />
          <ConnectionStatus state={connection} asOf={data.asOf} now={now} />
        </div>
      </Header>
      <main id="main" className="main" tabIndex={-1}>
        {body}
      </main>
      <Toasts toasts={toasts} dismiss={dismiss} />
    </>
  );
}
