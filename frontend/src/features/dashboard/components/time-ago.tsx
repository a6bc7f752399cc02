import { formatRelative } from "../../../lib/format";

/** Relative time, with the exact ISO time for hover and for screen readers. */
export function TimeAgo({ iso, now }: { iso: string | null | undefined; now: number }) {
  if (!iso) return <span>—</span>;
  return (
    <time dateTime={iso} title={iso}>
      {formatRelative(iso, now)}
    </time>
  );
}
