"""Alembic environment: runs on the engine the caller hands over.

Migrations import no domain models (the store sits below every domain); a test
compares the migrated schema with the models of every domain instead.
"""

from alembic import context

config = context.config
engine = config.attributes["engine"]
metadata = config.attributes.get("metadata")  # set only by scripts/revision.py (autogenerate)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=engine.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
