"""Rules of the test-only `sample` workflow."""
from workflow.rules import Outcome, Reason, condition, effect, guard


@guard("sample_amount_limit")
def amount_limit(ctx):
    if ctx.data["amount"] > 1000:
        yield Reason("amount_too_large", {"amount": ctx.data["amount"], "max": 1000})


@guard("sample_note_polite")
def note_polite(ctx):
    if "rude" in ctx.data.get("note", ""):
        yield Reason("note_impolite")


@effect("sample_double")
def double(ctx):
    return Outcome(facts={"doubled": ctx.data["amount"] * 2})


@condition("sample_is_small")
def is_small(ctx):
    return ctx.case.get("amount", 0) <= 100
