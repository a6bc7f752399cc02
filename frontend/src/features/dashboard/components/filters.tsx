import { WINDOWS, type Filters as FilterValues } from "../../../lib/url-state";

type Props = {
  filters: FilterValues;
  pipelines: string[];
  branches: string[];
  onChange: (filters: FilterValues) => void;
};

export function Filters({ filters, pipelines, branches, onChange }: Props) {
  return (
    <form className="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
      <label className="field">
        <span className="field__label">Window</span>
        <select
          value={filters.minutes}
          onChange={(e) => onChange({ ...filters, minutes: Number(e.target.value) })}
        >
          {WINDOWS.map((w) => (
            <option key={w.minutes} value={w.minutes}>
              Last {w.label}
            </option>
          ))}
        </select>
      </label>
      <label className={`field${filters.pipeline ? " field--active" : ""}`}>
        <span className="field__label">Pipeline</span>
        <select value={filters.pipeline} onChange={(e) => onChange({ ...filters, pipeline: e.target.value })}>
          <option value="">All pipelines</option>
          {withCurrent(pipelines, filters.pipeline).map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </label>
      <label className={`field${filters.branch ? " field--active" : ""}`}>
        <span className="field__label">Branch</span>
        <select value={filters.branch} onChange={(e) => onChange({ ...filters, branch: e.target.value })}>
          <option value="">All branches</option>
          {withCurrent(branches, filters.branch).map((b) => (
            <option key={b} value={b}>
              {b}
            </option>
          ))}
        </select>
      </label>
    </form>
  );
}

/** A value from the URL that the API does not list (yet) stays selectable rather than silently lost. */
function withCurrent(options: string[], current: string): string[] {
  return !current || options.includes(current) ? options : [current, ...options];
}
