import { WINDOWS, type Filters as FilterValues } from "../../../lib/url-state";

type Props = { filters: FilterValues; branches: string[]; onChange: (filters: FilterValues) => void };

export function Filters({ filters, branches, onChange }: Props) {
  const options = branches.includes(filters.branch) || !filters.branch ? branches : [filters.branch, ...branches];
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
      <label className="field">
        <span className="field__label">Branch</span>
        <select value={filters.branch} onChange={(e) => onChange({ ...filters, branch: e.target.value })}>
          <option value="">All branches</option>
          {options.map((b) => (
            <option key={b} value={b}>
              {b}
            </option>
          ))}
        </select>
      </label>
    </form>
  );
}
