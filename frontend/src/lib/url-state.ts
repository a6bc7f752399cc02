export const WINDOWS = [
  { minutes: 60, label: "1 h" },
  { minutes: 1440, label: "24 h" },
  { minutes: 10080, label: "7 d" },
  { minutes: 43200, label: "30 d" },
] as const;

export const DEFAULT_MINUTES = 1440;

export type Filters = { minutes: number; branch: string };

export function readFilters(search: string): Filters {
  const params = new URLSearchParams(search);
  const minutes = Number(params.get("minutes"));
  return {
    minutes: WINDOWS.some((w) => w.minutes === minutes) ? minutes : DEFAULT_MINUTES,
    branch: params.get("branch") ?? "",
  };
}

/** Keeps any other query parameters; an empty branch leaves the URL. */
export function writeFilters(search: string, filters: Filters): string {
  const params = new URLSearchParams(search);
  params.set("minutes", String(filters.minutes));
  if (filters.branch) params.set("branch", filters.branch);
  else params.delete("branch");
  return `?${params.toString()}`;
}
