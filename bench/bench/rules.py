"""The guard of the benchmark workflow."""
from workflow import Reason, guard


@guard("bench_amount_limit")
def amount_limit(ctx):
    if ctx.data["amount"] > ctx.params.get("bench_limit", 1000):
        yield Reason("amount_too_large")
