"""The hardship workflow package (see workflows/__init__.py)."""
