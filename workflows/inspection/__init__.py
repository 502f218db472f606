"""The inspection workflow package (see workflows/__init__.py)."""
