"""Bastion: self-hosted business automation in which security is the product."""

__version__ = "0.1.0"
