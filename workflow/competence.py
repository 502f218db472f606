"""Competent organisation (主管/审批单位) rules, by name.

A review step names the rule that says which organisation must decide it; a
reviewer may decide when their organisation is that one or an ancestor of it.
Rules see the case's organisation and its ancestors (nearest first).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OrgNode:
    id: int
    code: str
    name: str
    kind: str
    employees: int | None = None
    union_status: str = "none"


Rule = Callable[[OrgNode, Sequence[OrgNode], Mapping[str, Any]], OrgNode]
RULES: dict[str, Rule] = {}
# "case" is not a function: it reads the organisation fixed on the case earlier
FIXED = "case"

KIND_ORDER = ("community", "town", "federation")  # lower to higher


def rule(name: str) -> Callable[[Rule], Rule]:
    def decorate(fn: Rule) -> Rule:
        RULES[name] = fn
        return fn

    return decorate


def _nearest(kind: str, ancestors: Sequence[OrgNode]) -> OrgNode | None:
    return next((a for a in ancestors if a.kind == kind), None)


def _nearest_from(kind: str, org: OrgNode, ancestors: Sequence[OrgNode]) -> OrgNode:
    """The nearest ancestor of `kind`, else of the next higher kind, else the root."""
    for k in KIND_ORDER[KIND_ORDER.index(kind):]:
        found = _nearest(k, ancestors)
        if found is not None:
            return found
    return ancestors[-1] if ancestors else org


@rule("case_org")
def case_org(org: OrgNode, ancestors: Sequence[OrgNode], params: Mapping[str, Any]) -> OrgNode:
    return org


@rule("nearest_federation")
def nearest_federation(org: OrgNode, ancestors: Sequence[OrgNode], params: Mapping[str, Any]) -> OrgNode:
    return _nearest_from("federation", org, ancestors)


@rule("by_enterprise_size")
def by_enterprise_size(org: OrgNode, ancestors: Sequence[OrgNode], params: Mapping[str, Any]) -> OrgNode:
    """职工50人以上 → 县级以上总工会; 8–49 → 乡镇(街道)工会; 7人以下 → 社区工会 (以上/以下 include N)."""
    employees = org.employees or 0
    if employees >= params["approval_federation_min_employees"]:
        kind = "federation"
    elif employees >= params["approval_town_min_employees"]:
        kind = "town"
    else:
        kind = "community"
    return _nearest_from(kind, org, ancestors)


@rule("reviewing_union")
def reviewing_union(org: OrgNode, ancestors: Sequence[OrgNode], params: Mapping[str, Any]) -> OrgNode:
    """The union that reviews a worker's application (属地管理): the enterprise's own founded union, else the
    nearest community union above it, else the nearest town union, else the federation."""
    if org.union_status == "founded":
        return org
    return _nearest_from("community", org, ancestors)
