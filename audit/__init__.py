"""txstore's audit layer: field-classified diffs recorded in the transaction of the change.

An application declares its classification table, its mutation declarations
and its sink as one :class:`Config` and wraps its store in
``AuditStore(inner, config)``.
"""

from audit import errors
from audit._auditors import ENTRY_COLUMNS, Auditor, DatabaseAuditor, LogAuditor, combine
from audit._classify import check_table
from audit._config import Config
from audit._declare import Audited, Lookup, Resource, Unaudited, Via
from audit._diff import Change, diff, diff_json
from audit._entry import AuditEntry, RequestMetadata, current_request, request_metadata
from audit._field import IGNORE, SECRET, TRACK, Auditable, Field, Problem
from audit._plan import Plans, check_declarations, compile_plans
from audit._purge import PURGE_LOCK, PurgeConfig, PurgeResult, PurgeTarget, PurgeWorker
from audit._stack import connect_stack
from audit._store import AuditStore, AuditTx

__all__ = [
    "ENTRY_COLUMNS",
    "IGNORE",
    "PURGE_LOCK",
    "SECRET",
    "TRACK",
    "AuditEntry",
    "AuditStore",
    "AuditTx",
    "Auditable",
    "Audited",
    "Auditor",
    "Change",
    "Config",
    "DatabaseAuditor",
    "Field",
    "LogAuditor",
    "Lookup",
    "Plans",
    "Problem",
    "PurgeConfig",
    "PurgeResult",
    "PurgeTarget",
    "PurgeWorker",
    "RequestMetadata",
    "Resource",
    "Unaudited",
    "Via",
    "check_declarations",
    "check_table",
    "combine",
    "compile_plans",
    "connect_stack",
    "current_request",
    "diff",
    "diff_json",
    "errors",
    "request_metadata",
]
