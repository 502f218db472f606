#!/usr/bin/env python3
"""The two commands of the README, needing nothing but Python 3.11+:

    python3 dev.py run     install everything, then start UnionFlow on SQLite with demonstration data
    python3 dev.py test    install everything, then run the whole test suite

and a third for the benchmarks (README, "Performance"):

    python3 dev.py bench   install everything with the `bench` extra, then run `python -m bench`

Everything is installed into `.venv/` beside this file. `run` passes --host and
--port on to `flask demo run`; `test` passes any further arguments to pytest, `bench` to the benchmark (--quick).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
CHROMIUM = Path(os.environ.get("UNIONFLOW_CHROMIUM", "/usr/bin/chromium"))


def sh(*args: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True, env=env)


def install(extra: str | None) -> None:
    if sys.version_info < (3, 11):
        sys.exit("UnionFlow needs Python 3.11 or newer")
    if not (BIN / "python").exists():
        print(f"creating a virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    target = f".[{extra}]" if extra else "."
    _apt_install(DOCUMENT_PACKAGES + (TEST_PACKAGES if extra == "test" else ()))
    sh(BIN / "python", "-m", "pip", "install", "--quiet", "--quiet", "--disable-pip-version-check", "--upgrade", "pip")
    sh(BIN / "python", "-m", "pip", "install", "--quiet", "--quiet", "--disable-pip-version-check", "-e", target)


# Debian packages the server-made PDFs need (WeasyPrint lays text out with pango, in CJK fonts) and the
# tests read them back with (poppler-utils' pdftotext)
DOCUMENT_PACKAGES = ("libpango-1.0-0", "libpangoft2-1.0-0", "fonts-noto-cjk")
TEST_PACKAGES = ("poppler-utils",)


def _apt_install(packages: tuple[str, ...]) -> None:
    """Install the Debian packages that are missing, when this user may (root with apt-get)."""
    query, apt = shutil.which("dpkg-query"), shutil.which("apt-get")
    if not query or not apt or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    missing = [p for p in packages if subprocess.run([query, "-W", "-f=${Status}", p], capture_output=True,
                                                     text=True).stdout.strip() != "install ok installed"]
    if missing:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        sh(apt, "update", "-qq", env=env)
        sh(apt, "install", "-y", "-qq", *missing, env=env)


def ensure_browser() -> None:
    """Browser tests use Debian's chromium; install it when this user may, otherwise they are skipped."""
    if CHROMIUM.exists():
        return
    apt = shutil.which("apt-get")
    if apt and hasattr(os, "geteuid") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        sh(apt, "update", "-qq", env=env)
        sh(apt, "install", "-y", "-qq", "chromium", "fonts-noto-cjk", env=env)
    else:
        print(f"note: no chromium at {CHROMIUM}; the browser tests will be skipped "
              "(install Debian's 'chromium' package to run them)", flush=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test", "bench"):
        print(__doc__)
        return 2
    env = {**os.environ, "FLASK_APP": "wsgi"}
    if argv[0] == "run":
        install(None)
        env.setdefault("UNIONFLOW_ENV", "development")
        return subprocess.run([str(BIN / "flask"), "demo", "run", *argv[1:]], cwd=ROOT, env=env).returncode
    if argv[0] == "bench":
        install("bench")
        return subprocess.run([str(BIN / "python"), "-m", "bench", *argv[1:]], cwd=ROOT, env=env).returncode
    install("test")
    ensure_browser()
    return subprocess.run([str(BIN / "python"), "-m", "pytest", *argv[1:]], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
