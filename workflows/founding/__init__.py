"""The founding workflow package (see workflows/__init__.py)."""
