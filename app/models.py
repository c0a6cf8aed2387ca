"""Imports every feature's models, so the metadata and the mappers are complete."""

from app.accounts.models import ApiToken, ExternalIdentity, RoleGrant, User
from app.budgets.models import Academy, Allocation, School, SchoolYear
from app.core.audit import AuditEvent
from app.core.jobs import Job
from app.invoices.models import Invoice, InvoiceCounter, InvoiceLine
from app.ledger.models import JournalEntry, LedgerAccount, Posting
from app.licences.models import ActivationCode, Licence
from app.notifications.models import MailChoice, Notification
from app.opendata.models import OpenDataGeneration
from app.orders.models import CartLine, Order, OrderLine
from app.payouts.models import Payout, PayoutAccount, PayoutLine, SettlementRun, StripeEvent
from app.pooled_purchases.models import PooledPurchase, PooledShare
from app.products.models import (
    Plan,
    Product,
    ProductVersion,
    SearchWord,
    VersionDiscipline,
    VersionLevel,
)
from app.reporting.models import SpendingSummary
from app.vendors.models import ExcludedCompany, ExclusionMatch, Vendor, VendorStatus
from app.vetting.models import Review

__all__ = [
    "Academy",
    "ActivationCode",
    "ApiToken",
    "Allocation",
    "AuditEvent",
    "CartLine",
    "ExcludedCompany",
    "ExclusionMatch",
    "ExternalIdentity",
    "Job",
    "Invoice",
    "InvoiceCounter",
    "InvoiceLine",
    "JournalEntry",
    "LedgerAccount",
    "Licence",
    "MailChoice",
    "Notification",
    "Order",
    "OrderLine",
    "Payout",
    "PayoutAccount",
    "PayoutLine",
    "Plan",
    "PooledPurchase",
    "PooledShare",
    "Posting",
    "Product",
    "ProductVersion",
    "Review",
    "SearchWord",
    "RoleGrant",
    "School",
    "SettlementRun",
    "OpenDataGeneration",
    "SpendingSummary",
    "StripeEvent",
    "SchoolYear",
    "User",
    "Vendor",
    "VendorStatus",
    "VersionDiscipline",
    "VersionLevel",
]
