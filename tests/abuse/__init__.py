"""Abuse tests exercise the HTTP layer, not the database: they run once, not again on
PostgreSQL 15 (the Makefile's DB_TESTS leave this folder out)."""
