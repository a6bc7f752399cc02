import type { ReactNode } from "react";
import type { Info } from "../../../api/client";

export function Header({
  info,
  trendsHref,
  children,
}: {
  info: Info | null;
  trendsHref?: string;
  children?: ReactNode;
}) {
  return (
    <header className="header">
      <div className="header__brand">
        <img src="./favicon.svg" alt="" width={28} height={28} />
        <h1 className="header__title">Pipeline Pulse</h1>
        {info && (
          <span className="env-badges">
            <span className="env-badge" title="Environment">
              <span className="visually-hidden">Environment: </span>
              {info.environment}
            </span>
            {info.demo && (
              <span className="env-badge env-badge--demo" title="Demo mode: simulated runs are allowed">
                demo
              </span>
            )}
          </span>
        )}
        {trendsHref && (
          <a className="header__trends" href={trendsHref} target="_blank" rel="noopener noreferrer">
            Trends ↗<span className="visually-hidden"> (the Streamlit trends app, in a new tab)</span>
          </a>
        )}
      </div>
      {children}
    </header>
  );
}
