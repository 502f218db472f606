"""django-fsm-2 + django-fsm-log doing the benchmark's steps, one transaction (commit) per step.

Run in its own process (Django is configured once per process):
`python -m bench.django_fsm_log_path STEPS DIRECTORY` prints the steps per second.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def _configure(directory: Path) -> None:
    import django
    from django.conf import settings

    settings.configure(
        DATABASES={"default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(directory / "django.db"),
            # the same settings as the engine's SQLite: WAL, synchronous=NORMAL, writers begin IMMEDIATE
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                        "transaction_mode": "IMMEDIATE"},
        }},
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django_fsm_log", "bench.fsmapp"],
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    django.setup()


def steps_per_s(steps: int, directory: Path) -> float:
    _configure(directory)
    from django.contrib.auth.models import User
    from django.core.exceptions import PermissionDenied
    from django.core.management import call_command
    from django.db import transaction
    from django_fsm import has_transition_perm

    from bench.fsmapp.models import BenchCase

    call_command("migrate", run_syncdb=True, verbosity=0)
    preparer = User.objects.create(username="bp", last_name="preparer")
    reviewer = User.objects.create(username="br", last_name="reviewer")
    case_id = BenchCase.objects.create(created_by=preparer).pk

    def fire(trigger: str, user: User, amount: int | None = None) -> None:
        with transaction.atomic():
            case = BenchCase.objects.select_for_update().get(pk=case_id)
            method = getattr(case, trigger)
            if not has_transition_perm(method, user):
                raise PermissionDenied(trigger)
            if amount is not None:
                case.pending_amount = amount
            method(by=user)  # checks the source state and the conditions; the StateLog row is written here
            case.version += 1
            case.save()

    start = time.perf_counter()
    for i in range(steps // 2):
        fire("hold", preparer, i % 500)
        fire("release", reviewer)
    return (steps // 2 * 2) / (time.perf_counter() - start)


if __name__ == "__main__":
    print(json.dumps({"steps_per_s": steps_per_s(int(sys.argv[1]), Path(sys.argv[2]))}))
