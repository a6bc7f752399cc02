import { parseTime } from "../../../lib/format";
import type { ConnectionState } from "../api/use-live-metrics";

const LABELS: Record<ConnectionState, string> = {
  connecting: "Connecting",
  live: "Live",
  reconnecting: "Reconnecting",
  offline: "Offline",
};

/** Connection state as text; the freshness line ticks every second but is not announced each time. */
export function ConnectionStatus({ state, asOf, now }: { state: ConnectionState; asOf: string | null; now: number }) {
  const then = parseTime(asOf);
  const age = then == null ? null : Math.max(0, Math.floor((now - then) / 1000));
  return (
    <div className={`conn conn--${state}`}>
      <span role="status" aria-live="polite" className="conn__state">
        <span className="conn__dot" aria-hidden="true" />
        {LABELS[state]}
      </span>
      {age != null && (
        <span className="conn__age">
          updated <time dateTime={asOf ?? undefined} title={asOf ?? undefined}>{age} s ago</time>
        </span>
      )}
    </div>
  );
}
