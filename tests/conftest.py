"""Test set-up: real databases (SQLite or PostgreSQL), real servers, a frozen clock.

The backend comes from ``BASTION_TEST_DB`` (``sqlite``, the default, or
``postgres``); ``make test`` runs the whole suite once on each. With CI=true a
missing PostgreSQL (or Redis, for the shared rate-limit tests) fails the run
instead of skipping it.
"""

pytest_plugins = ["tests.fixtures.database", "tests.fixtures.redis", "tests.fixtures.services"]
