"""Persistence: engines and transactions for SQLite and PostgreSQL, migrations, the
group-commit writer and the data keys that seal everything stored."""
