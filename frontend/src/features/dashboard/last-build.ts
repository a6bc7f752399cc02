import type { Summary } from "../../api/client";
import { parseTime } from "../../lib/format";

/**
 * The pipeline of the summary's last decided run, which the summary gives only per pipeline: the entry
 * that finished last. On a tie, one whose result is the top-level result, then the first by name.
 */
export function lastBuildPipeline(summary: Summary): string | null {
  const finished = summary.per_pipeline.flatMap((p) => {
    const at = parseTime(p.last_finished_at);
    return at == null ? [] : [{ ...p, at }];
  });
  if (finished.length === 0) return null;
  const top = parseTime(summary.last_finished_at);
  const latest = finished.some((p) => p.at === top) ? top : Math.max(...finished.map((p) => p.at));
  const candidates = finished.filter((p) => p.at === latest);
  const rank = (p: { last_status?: string | null }) => (p.last_status === summary.last_status ? 0 : 1);
  const [best] = candidates.sort(
    (a, b) => rank(a) - rank(b) || (a.pipeline < b.pipeline ? -1 : a.pipeline > b.pipeline ? 1 : 0),
  );
  return best?.pipeline ?? null;
}
