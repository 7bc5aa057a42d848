"""Write a new migration by comparing every domain's models with a migrated database.

Usage: .venv/bin/python scripts/revision.py "what changed"
"""

import sys
import tempfile

from alembic import command

import bastion.app  # noqa: F401  (imports every domain's models)
from bastion.store.base import Base
from bastion.store.db import Database

with tempfile.TemporaryDirectory() as tmp:
    db = Database(f"sqlite:///{tmp}/rev.db")
    db.migrate()
    config = db.alembic_config()
    config.attributes["metadata"] = Base.metadata
    command.revision(config, message=sys.argv[1], autogenerate=True)
