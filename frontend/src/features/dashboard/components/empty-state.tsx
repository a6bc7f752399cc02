import { useState } from "react";
import { curlExample } from "../curl-example";

type Props = { apiUrl: string; demo: boolean; onSimulate: () => Promise<void> };

export function EmptyState({ apiUrl, demo, onSimulate }: Props) {
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState(false);
  const command = curlExample(apiUrl);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(command);
      setCopied(true);
    } catch {
      // No clipboard (plain http on another host, or denied): the command stays selectable.
    }
  };
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
      <div className="code-block">
        <pre className="code" tabIndex={0} aria-label="Example curl command">
          <code>{command}</code>
        </pre>
        <button type="button" className="button code-block__copy" onClick={copy}>
          {copied ? "Copied" : "Copy"}
        </button>
      </div>
      {demo && (
        <div className="empty__demo">
          <button type="button" className="button button--primary" onClick={simulate} disabled={busy}>
            {busy ? "Simulating…" : "Simulate 50 demo runs"}
          </button>
          <p className="muted">Demo mode is on: the simulator needs no token.</p>
        </div>
      )}
    </section>
  );
}
