"""The app with the benchmark workflow added, for the HTTP benchmark's server workers."""
from web import create_app, settle_worker

from .engine_path import bench_catalog

app = create_app({"UNIONFLOW_CATALOG": bench_catalog(), "RATELIMIT_ENABLED": False})
settle_worker()  # as wsgi.py
