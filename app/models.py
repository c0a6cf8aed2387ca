"""Imports every feature's models, so the metadata and the mappers are complete."""

from app.accounts.models import RoleGrant, User
from app.budgets.models import Academy, Allocation, School, SchoolYear
from app.core.audit import AuditEvent
from app.ledger.models import JournalEntry, LedgerAccount, Posting
from app.vendors.models import Vendor, VendorStatus

__all__ = [
    "Academy",
    "Allocation",
    "AuditEvent",
    "JournalEntry",
    "LedgerAccount",
    "Posting",
    "RoleGrant",
    "School",
    "SchoolYear",
    "User",
    "Vendor",
    "VendorStatus",
]
