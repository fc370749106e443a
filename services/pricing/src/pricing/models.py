"""Tables of the pricing service, all in the `pricing` schema.

Inputs arrive as events and are kept locally (clients, coverages, benefit snapshots, sessions); a session's
cost is a list of immutable versions; money owed is a double-entry ledger, never a balance column.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Identity,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from kit.db import make_base
from kit.runtime import MessagingTables

Base = make_base("pricing")
messaging = MessagingTables(Base.metadata)
md = Base.metadata

MONEY = Numeric(12, 2)


def _now() -> Column[Any]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


clients = Table(
    "clients",
    md,
    Column("client_id", UUID(as_uuid=True), primary_key=True),
    Column("account_status", String(20), nullable=False, server_default="active"),
)

care_relationships = Table(
    "care_relationships",
    md,
    Column("provider_id", UUID(as_uuid=True), nullable=False),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    PrimaryKeyConstraint("provider_id", "client_id", name="pk_care_relationships"),
)

coverages = Table(
    "coverages",
    md,
    Column("coverage_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("payer_id", String(50), nullable=False, index=True),
    # COB found this plan secondary: the client's sessions on it are self-pay until primary is confirmed.
    Column("cob_secondary", Boolean, nullable=False, server_default="false"),
)

benefit_snapshots = Table(
    "benefit_snapshots",
    md,
    Column("coverage_id", UUID(as_uuid=True), nullable=False),
    Column("plan_year_start", Date, nullable=False),
    Column("plan_year_end", Date, nullable=False),
    Column("copay", MONEY, nullable=True),
    Column("coinsurance_rate", Numeric(5, 4), nullable=True),
    Column("deductible", MONEY, nullable=False),
    Column("deductible_met", MONEY, nullable=False),
    Column("out_of_pocket_max", MONEY, nullable=False),
    Column("out_of_pocket_met", MONEY, nullable=False),
    Column("snapshot_id", UUID(as_uuid=True), nullable=True),
    PrimaryKeyConstraint("coverage_id", "plan_year_start", name="pk_benefit_snapshots"),
)

fee_schedules = Table(
    "fee_schedules",
    md,
    # payer_id "*" is the default contracted rate, "self_pay" the rate for clients without billable insurance.
    Column("payer_id", String(50), nullable=False),
    Column("cpt_code", String(5), nullable=False),
    Column("allowed_amount", MONEY, nullable=False),
    Column("provider_rate", MONEY, nullable=False),
    PrimaryKeyConstraint("payer_id", "cpt_code", name="pk_fee_schedules"),
)

sessions = Table(
    "sessions",
    md,
    Column("session_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("provider_id", UUID(as_uuid=True), nullable=False),
    Column("coverage_id", UUID(as_uuid=True), nullable=True, index=True),
    Column("payer_id", String(50), nullable=True),
    Column("date_of_service", Date, nullable=False),
    Column("cpt_code", String(5), nullable=False),
    Column("billing_route", String(30), nullable=False),
    Column("status", String(20), nullable=False, server_default="confirmed"),
    Column("confirmed_at", DateTime(timezone=True), nullable=False),
    Column("patient_responsibility", MONEY, nullable=True),
    # The latest cost version, kept beside the session so readers need no max() (versions stay immutable).
    Column("current_version", Integer, nullable=False, server_default="0"),
    Column("current_amount", MONEY, nullable=True),
    # Room on each page for the re-priced row, so re-pricing updates in place (migration 5e1f0c2a9b3d).
    postgresql_with={"fillfactor": 70},
)

cost_versions = Table(
    "cost_versions",
    md,
    Column("session_id", UUID(as_uuid=True), nullable=False),
    Column("version", Integer, nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("allowed_amount", MONEY, nullable=False),
    Column("plan_amount", MONEY, nullable=False),
    Column("basis", String(20), nullable=False),
    Column("reason", String(40), nullable=False),
    Column("lines", JSONB, nullable=False),
    _now(),
    PrimaryKeyConstraint("session_id", "version", name="pk_cost_versions"),
)

ledger_entries = Table(
    "ledger_entries",
    md,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("transaction_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("session_id", UUID(as_uuid=True), nullable=True),
    # receivable (client owes us; negative = credit), revenue, cash (card-processor clearing)
    Column("account", String(20), nullable=False),
    Column("kind", String(20), nullable=False),  # charge | adjustment | payment | refund | credit_applied
    Column("amount", MONEY, nullable=False),
    Column("payment_id", UUID(as_uuid=True), nullable=True),
    Column("refund_id", UUID(as_uuid=True), nullable=True),
    _now(),
    Index("ix_ledger_entries_client", "client_id", "session_id"),
)

payments = Table(
    "payments",
    md,
    Column("payment_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("amount", MONEY, nullable=False),
    Column("charge_id", String(100), nullable=False),
    _now(),
)

payment_requests = Table(
    "payment_requests",
    md,
    Column("client_id", UUID(as_uuid=True), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("state", String(20), nullable=False),  # in_progress | done
    Column("response_status", Integer, nullable=True),
    Column("response_body", JSONB, nullable=True),
    _now(),
    PrimaryKeyConstraint("client_id", "idempotency_key", name="pk_payment_requests"),
)

refunds = Table(
    "refunds",
    md,
    Column("refund_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("session_id", UUID(as_uuid=True), nullable=False),
    Column("payment_id", UUID(as_uuid=True), nullable=False),
    Column("cost_version", Integer, nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("status", String(20), nullable=False),  # pending | issued | failed
    Column("processor_refund_id", String(100), nullable=True),
    Column("failure", String(200), nullable=True),
    Column("issued_at", DateTime(timezone=True), nullable=True),
    Column("expected_by", Date, nullable=True),
    _now(),
    # One refund per cost version of a session, whatever redeliveries or concurrent re-pricings happen.
    # One refund per original payment per cost version of a session: a re-pricing that refunds across two
    # payments stages two refunds, and a redelivered or concurrent re-pricing of the same version stages none.
    UniqueConstraint("session_id", "cost_version", "payment_id", name="uq_refunds_session_version_payment"),
)

invoices = Table(
    "invoices",
    md,
    Column("invoice_id", UUID(as_uuid=True), primary_key=True),
    Column("session_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("client_id", UUID(as_uuid=True), nullable=False),
    _now(),
)

good_faith_estimates = Table(
    "good_faith_estimates",
    md,
    Column("estimate_id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("provider_id", UUID(as_uuid=True), nullable=True),
    Column("cpt_code", String(5), nullable=False),
    Column("session_count", Integer, nullable=False),
    Column("unit_rate", MONEY, nullable=False),
    Column("total", MONEY, nullable=False),
    Column("first_date", Date, nullable=False),
    _now(),
)
