"""Live updates: WS /ws/metrics, fed by PostgreSQL NOTIFY."""
