import type { ConnectionState } from "../api/use-live-metrics";
import { TimeAgo } from "./time-ago";

/** Says, in words, that the figures on screen have stopped moving while the socket is down. */
export function StaleNotice({ state, asOf, now }: { state: ConnectionState; asOf: string | null; now: number }) {
  if (state !== "reconnecting" && state !== "offline") return null;
  return (
    <p className={`stale stale--${state}`} data-testid="stale-notice">
      <strong>{state === "offline" ? "Offline." : "Live updates paused."}</strong>{" "}
      {state === "offline" ? "The API cannot be reached; still retrying." : "Reconnecting to the API…"}{" "}
      {asOf ? (
        <>
          Figures are from <TimeAgo iso={asOf} now={now} />.
        </>
      ) : null}
    </p>
  );
}
