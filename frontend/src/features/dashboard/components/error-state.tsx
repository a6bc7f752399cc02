export function ErrorState({ message, apiUrl, onRetry }: { message: string; apiUrl: string; onRetry: () => void }) {
  return (
    <section className="panel error" role="alert" aria-labelledby="error-heading">
      <h2 id="error-heading" className="panel__title">
        Could not load the dashboard
      </h2>
      <p>{message}</p>
      <p className="muted">
        API: <code>{apiUrl}</code>
      </p>
      <button type="button" className="button button--primary" onClick={onRetry}>
        Retry
      </button>
    </section>
  );
}
