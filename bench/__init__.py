"""Benchmarks: txstore against raw asyncpg and SQLAlchemy, in one run."""
