export const WINDOWS = [
  { minutes: 60, label: "1 h" },
  { minutes: 1440, label: "24 h" },
  { minutes: 10080, label: "7 d" },
  { minutes: 43200, label: "30 d" },
] as const;

export const DEFAULT_MINUTES = 1440;

/** An empty pipeline or branch means "all", as it does for the API. */
export type Filters = { minutes: number; pipeline: string; branch: string };

export function readFilters(search: string): Filters {
  const params = new URLSearchParams(search);
  const minutes = Number(params.get("minutes"));
  return {
    minutes: WINDOWS.some((w) => w.minutes === minutes) ? minutes : DEFAULT_MINUTES,
    pipeline: params.get("pipeline") ?? "",
    branch: params.get("branch") ?? "",
  };
}

/** Keeps any other query parameters; an empty pipeline or branch leaves the URL. */
export function writeFilters(search: string, filters: Filters): string {
  const params = new URLSearchParams(search);
  params.set("minutes", String(filters.minutes));
  for (const key of ["pipeline", "branch"] as const) {
    if (filters[key]) params.set(key, filters[key]);
    else params.delete(key);
  }
  return `?${params.toString()}`;
}

/** The trends app on the same pipeline and branch (it reads `?pipeline=&branch=` too). */
export function trendsLink(trendsUrl: string, filters: { pipeline: string; branch: string }): string {
  const url = new URL(trendsUrl.endsWith("/") ? trendsUrl : `${trendsUrl}/`);
  if (filters.pipeline) url.searchParams.set("pipeline", filters.pipeline);
  if (filters.branch) url.searchParams.set("branch", filters.branch);
  return url.toString();
}
