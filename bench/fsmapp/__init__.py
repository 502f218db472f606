"""The peer the engine is compared with: a Django model driven by django-fsm-2, logged by django-fsm-log."""
