"""Factories per domain: real rows made through the real services."""
