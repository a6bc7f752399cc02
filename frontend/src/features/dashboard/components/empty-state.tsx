import { useState } from "react";
import { curlExample } from "../curl-example";

type Props = { apiUrl: string; demo: boolean; onSimulate: () => Promise<void> };

export function EmptyState({ apiUrl, demo, onSimulate }: Props) {
  const [busy, setBusy] = useState(false);
  const simulate = async () => {
    setBusy(true);
    try {
      await onSimulate();
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="panel empty" aria-labelledby="empty-heading">
      <h2 id="empty-heading" className="panel__title">
        No runs yet
      </h2>
      <p>
        Send your first run from CI or a terminal. The token is printed by <code>pulse up</code> on first start, or
        by <code>pulse token</code>.
      </p>
      <pre className="code" tabIndex={0} aria-label="Example curl command">
        <code>{curlExample(apiUrl)}</code>
      </pre>
      {demo && (
        <p>
          <button type="button" className="button button--primary" onClick={simulate} disabled={busy}>
            {busy ? "Simulating…" : "Simulate 50 demo runs"}
          </button>{" "}
          <span className="muted">Demo mode is on: no token needed.</span>
        </p>
      )}
    </section>
  );
}
