"""Persistence: tables, engine and sessions, and the job store (the only writer of jobs)."""
