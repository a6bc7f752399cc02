const EMPTY = "—";

/**
 * Whole seconds, so durations read alike wherever they appear (no "0.4 s" beside "2m 00s"):
 * 0.4 → "0 s", 42 → "42 s", 65 → "1m 05s", 7380 → "2h 03m".
 */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return EMPTY;
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) return `${Math.floor(whole / 60)}m ${pad(whole % 60)}s`;
  const minutes = Math.floor(whole / 60);
  return `${Math.floor(minutes / 60)}h ${pad(minutes % 60)}m`;
}

/** "just now", "5 s ago", "3 min ago", "2 h ago", "4 d ago"; a time slightly ahead of `now` is "just now". */
export function formatRelative(iso: string | null | undefined, now: number): string {
  const then = parseTime(iso);
  if (then == null) return EMPTY;
  const seconds = Math.floor((now - then) / 1000);
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}

/** 0.7727 → "77.3%"; null (no decided runs) → "—". */
/** Seconds from `iso` to `now`, never negative (a start slightly ahead of this clock is 0); null without a time. */
export function secondsSince(iso: string | null | undefined, now: number): number | null {
  const then = parseTime(iso);
  return then == null ? null : Math.max(0, (now - then) / 1000);
}

export function formatRate(rate: number | null | undefined): string {
  if (rate == null || !Number.isFinite(rate)) return EMPTY;
  return `${(rate * 100).toFixed(1)}%`;
}

export function formatCount(value: number): string {
  return value.toLocaleString("en-US");
}

/** A CI's own result word, as prose: "timed_out" → "timed out". */
export function formatConclusion(conclusion: string): string {
  return conclusion.replaceAll("_", " ");
}

export function shortSha(commit: string | null | undefined): string {
  return commit ? commit.slice(0, 7) : EMPTY;
}

export function parseTime(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}
