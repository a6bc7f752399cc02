import { useCallback, useEffect, useMemo, useState } from "react";
import { createClient } from "../api/client";
import { Dashboard } from "../features/dashboard/components/dashboard";
import { loadConfig, type AppConfig } from "../lib/config";
import { readFilters, writeFilters, type Filters } from "../lib/url-state";

/** Reads config.json, keeps the filters in the query string, and hands both to the dashboard. */
export function App() {
  const [config, setConfig] = useState<AppConfig | null>(null);
  const [filters, setFilters] = useState<Filters>(() => readFilters(window.location.search));

  useEffect(() => {
    void loadConfig().then(setConfig);
  }, []);

  useEffect(() => {
    const onPop = () => setFilters(readFilters(window.location.search));
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);

  useEffect(() => {
    const search = writeFilters(window.location.search, filters);
    if (search !== window.location.search) {
      window.history.replaceState(null, "", `${window.location.pathname}${search}${window.location.hash}`);
    }
  }, [filters]);

  const changeFilters = useCallback((next: Filters) => {
    const search = writeFilters(window.location.search, next);
    window.history.pushState(null, "", `${window.location.pathname}${search}${window.location.hash}`);
    setFilters(next);
  }, []);

  const client = useMemo(() => (config ? createClient(config.apiUrl) : null), [config]);
  if (!config || !client) return null;
  return (
    <Dashboard
      client={client}
      apiUrl={config.apiUrl}
      trendsUrl={config.trendsUrl}
      filters={filters}
      onFiltersChange={changeFilters}
    />
  );
}
