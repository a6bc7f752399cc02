import { Skeleton } from "../../../components/ui/skeleton";

export function LoadingSkeleton() {
  return (
    <div className="loading" role="status" aria-live="polite" aria-busy="true">
      <span className="visually-hidden">Loading the dashboard…</span>
      <div className="kpis">
        {[0, 1, 2, 3].map((i) => (
          <div key={i} className="kpi">
            <Skeleton className="skeleton--label" />
            <Skeleton className="skeleton--value" />
          </div>
        ))}
      </div>
      <div className="panel">
        {Array.from({ length: 6 }, (_, i) => (
          <Skeleton key={i} className="skeleton--row" />
        ))}
      </div>
    </div>
  );
}
