"""The benchmark workflow as django-fsm-2 users write it: the same two steps, the same checks.

`hold` (a preparer, with the amount limit as a condition) and `release` (a
reviewer who did not hold the case: four eyes as a permission); every
transition is logged by django-fsm-log's StateLog with its actor.
"""
from django.conf import settings
from django.db import models
from django_fsm import FSMField, transition
from django_fsm_log.decorators import fsm_log_by

AMOUNT_LIMIT = 1000


def _amount_within_limit(case: "BenchCase") -> bool:
    return 0 <= case.pending_amount <= AMOUNT_LIMIT


def _is_preparer(case: "BenchCase", user) -> bool:
    return user.last_name == "preparer"


def _is_other_reviewer(case: "BenchCase", user) -> bool:
    return user.last_name == "reviewer" and user.pk not in (case.created_by_id, case.held_by_id)


class BenchCase(models.Model):
    state = FSMField(default="open")
    version = models.IntegerField(default=1)
    amount = models.IntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    held_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    pending_amount = 0

    class Meta:
        app_label = "fsmapp"

    @fsm_log_by
    @transition(field=state, source="open", target="held", conditions=[_amount_within_limit],
                permission=_is_preparer)
    def hold(self, by=None):
        self.amount = self.pending_amount
        self.held_by = by

    @fsm_log_by
    @transition(field=state, source="held", target="open", permission=_is_other_reviewer)
    def release(self, by=None):
        pass
