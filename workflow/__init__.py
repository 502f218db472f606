"""The workflow engine (no Flask here): definitions run on `transitions`, one choke point `Engine.fire`.

These are the names the edges (`web/`, `services/`, the command line, workflow packages, benchmarks) may
use; nothing outside `workflow/` imports its submodules (an import-linter contract in `pyproject.toml`).
"""
from .catalog import checked_catalog
from .catalog import default as default_catalog
from .certificates import CERTIFICATE, TransferCertificate, find_certificate, format_code, new_code, normalise_code
from .certificates import code_hash as certificate_code_hash
from .certificates import expired_cases as expired_transfer_cases
from .creditcode import ALPHABET as CREDIT_CODE_ALPHABET
from .creditcode import check_character as credit_code_check_character
from .creditcode import is_valid_credit_code
from .deadlines import DEFAULT_DUE_SOON_WORKING_DAYS, DUE_SOON, ESCALATED, OVERDUE
from .deadlines import KINDS as DEADLINE_KINDS
from .deadlines import due_on as deadline_of
from .deadlines import reached as deadline_alerts
from .deadlines import rule_for as deadline_rule
from .delegations import active as delegation_active
from .delegations import colleagues, delegations_of
from .engine import (
    DECIDED_ON,
    DOCUMENT_ISSUED,
    ON_BEHALF_OF,
    SYSTEM,
    Actor,
    Availability,
    Engine,
    Handling,
    Holder,
    Waiting,
    ancestors_of,
    can_view,
    can_view_case,
    find_holder,
    waited_for,
)
from .enrolment import NewMember, lock_roster
from .entities import EntityChange, EntityType
from .entities import create as create_entity
from .entities import register as register_entity
from .entities import update as update_entity
from .errors import (
    AssignedToOther,
    FieldError,
    Forbidden,
    FourEyes,
    GuardFailed,
    InvalidInput,
    InvalidState,
    NotCompetent,
    NotFound,
    StaleVersion,
    UnknownTrigger,
    WorkflowError,
)
from .idnumber import birth_date as id_number_birth_date
from .idnumber import check_character as id_number_check_character
from .idnumber import id_number_problem, is_valid_id_number, mask_id_number
from .members import ENDED as MEMBERSHIP_ENDED
from .members import GROUPS as MEMBER_GROUPS
from .members import STATUSES as MEMBER_STATUSES
from .members import Member, RosterFilter, find_member, gender_of, group_counts, roster_counts, roster_query
from .messages import error_message, field_message
from .models import ORG_KINDS, ROLES, UNION_STATUSES, ApiToken, Case, CaseParty, Delegation, Organisation, User
from .privacy import can_see_personal_data, mask
from .queries import (
    MAX_PAGE,
    MAX_PER_PAGE,
    Page,
    list_cases,
    paginate,
    review_queue,
    task_list,
    visible_cases,
    visible_orgs,
)
from .rows import org_digest, org_state, user_state
from .rules import SYSTEM_STEPS, Context, OrgFacts, Outcome, Reason, condition, effect, guard, lookup, system_step
from .workdays import Calendar, as_date

__all__ = [
    "CERTIFICATE", "SYSTEM_STEPS", "certificate_code_hash", "TransferCertificate", "expired_transfer_cases",
    "find_certificate", "format_code", "new_code", "normalise_code", "system_step",
    "CREDIT_CODE_ALPHABET", "DEADLINE_KINDS", "DECIDED_ON", "DEFAULT_DUE_SOON_WORKING_DAYS", "DOCUMENT_ISSUED",
    "DUE_SOON", "ESCALATED", "MAX_PAGE", "MAX_PER_PAGE", "MEMBERSHIP_ENDED", "MEMBER_GROUPS", "MEMBER_STATUSES",
    "ON_BEHALF_OF", "ORG_KINDS", "OVERDUE", "ROLES", "SYSTEM", "UNION_STATUSES", "Actor", "ApiToken",
    "AssignedToOther", "Availability", "Calendar", "Case", "CaseParty", "Context", "Delegation", "Engine",
    "EntityChange", "EntityType", "FieldError", "Forbidden", "FourEyes", "GuardFailed", "Handling", "Holder",
    "InvalidInput", "InvalidState", "Member", "NewMember", "NotCompetent", "NotFound", "OrgFacts", "Organisation",
    "Outcome", "Page", "Reason", "RosterFilter", "StaleVersion", "UnknownTrigger", "User", "Waiting", "WorkflowError",
    "ancestors_of", "as_date", "can_see_personal_data", "can_view", "can_view_case", "checked_catalog", "colleagues",
    "condition", "create_entity", "credit_code_check_character", "deadline_alerts", "deadline_of", "deadline_rule",
    "default_catalog", "delegation_active", "delegations_of", "effect", "error_message", "field_message",
    "find_holder", "find_member", "gender_of", "group_counts", "guard", "id_number_birth_date",
    "id_number_check_character", "id_number_problem", "is_valid_credit_code", "is_valid_id_number", "list_cases",
    "lock_roster", "lookup", "mask", "mask_id_number", "org_digest", "org_state", "paginate", "register_entity",
    "review_queue", "roster_counts", "roster_query", "task_list", "update_entity", "user_state", "visible_cases",
    "visible_orgs", "waited_for",
]
