const ICONS: Record<string, string> = {
  success: "✓",
  passing: "✓",
  failure: "✕",
  failing: "✕",
  running: "●",
  queued: "◷",
  cancelled: "⊘",
  skipped: "»",
  unknown: "?",
};

/** A status as text plus a symbol plus a colour: never colour alone. */
export function StatusBadge({ status, label }: { status: string; label?: string }) {
  return (
    <span className={`badge badge--${status}`}>
      <span aria-hidden="true" className="badge__icon">
        {ICONS[status] ?? "•"}
      </span>
      {label ?? status}
    </span>
  );
}
