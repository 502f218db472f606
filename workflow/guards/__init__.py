"""The guards, effects and conditions of each workflow, one module per workflow.

Importing this package registers every rule in `workflow.rules`.
"""
import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
