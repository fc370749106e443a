"""Reading real-shaped 271s: every sandbox scenario, and 271s produced by other systems."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from eligibility.verification.x12_270 import Inquiry, Person, render_270
from eligibility.verification.x12_271 import PayerUnavailable, Unreadable271, parse_271
from sandbox.clearinghouse.members import scenarios
from sandbox.clearinghouse.x12_271 import build_271, read_270

TODAY = date(2026, 3, 2)


def answer_for(member_id: str):  # type: ignore[no-untyped-def]
    inquiry = Inquiry(
        trace_number="T1",
        payer_name="Aetna",
        payer_x12_id="60054",
        member_id=member_id,
        group_number=None,
        subscriber=Person("Ada", "Lovelace", date(1990, 4, 12)),
        patient=None,
        relationship="self",
        service_date=TODAY,
        receiver_name="Parity",
        receiver_npi="1234567893",
    )
    raw_270 = render_270(inquiry, sender_id="PARITY", receiver_id="CH", created=datetime(2026, 3, 2, 12))
    member = scenarios(TODAY)[member_id]
    return parse_271(build_271(read_270(raw_270), member, created=datetime.now(UTC).replace(tzinfo=None)))


@pytest.mark.parametrize(
    ("member_id", "field", "value"),
    [
        ("ACTIVE0001", "deductible_met", Decimal("300.00")),
        ("DEDMET0001", "deductible_met", Decimal("1500.00")),
        ("OOPMET0001", "out_of_pocket_met", Decimal("5000.00")),
        ("COPAY00001", "copay", Decimal("30.00")),
        ("COINS00001", "coinsurance_rate", Decimal("0.30")),
        ("PRIORAUTH1", "prior_authorization_required", True),
    ],
)
def test_active_scenarios_read_the_behavioral_health_benefits(
    member_id: str, field: str, value: object
) -> None:
    answer = answer_for(member_id)
    assert answer.kind == "active"
    assert answer.secondary is False
    assert getattr(answer.benefits, field) == value


def test_copay_only_plan_has_no_coinsurance() -> None:
    benefits = answer_for("COPAY00001").benefits
    assert benefits is not None
    assert benefits.coinsurance_rate is None


def test_secondary_scenario_names_the_primary_payer() -> None:
    answer = answer_for("SECOND0001")
    assert answer.secondary is True
    assert answer.other_payer_name == "AETNA"


def test_terminated_and_not_found_scenarios() -> None:
    assert answer_for("TERM000001").kind == "inactive"
    not_found = answer_for("NOTFOUND01")
    assert (not_found.kind, not_found.reject_codes) == ("not_found", ("75",))


OTHER_SYSTEM_271 = "\n".join(
    [
        "ISA*00*          *00*          *ZZ*OTHERCH        *ZZ*PARITY         *260302*1200*^*00501*000000042*0*P*:~",
        "GS*HB*OTHERCH*PARITY*20260302*1200*42*X*005010X279A1~",
        "ST*271*0042*005010X279A1~",
        "BHT*0022*11*REF42*20260302*1200~",
        "HL*1**20*1~",
        "NM1*PR*2*UNITEDHEALTHCARE*****PI*87726~",
        "HL*2*1*21*1~",
        "NM1*1P*2*PARITY HEALTH*****XX*1234567893~",
        "HL*3*2*22*1~",
        "NM1*IL*1*LOVELACE*GRACE****MI*U99887766~",
        "HL*4*3*23*0~",
        "NM1*03*1*LOVELACE*ADA~",
        "DTP*346*D8*20260201~",
        "DTP*347*D8*20270131~",
        "EB*1**30~",
        "EB*C*IND*MH***22*2000*****Y~",
        "EB*C*IND*MH***24*250*****Y~",
        "EB*C*IND*MH***22*9000*****N~",
        "EB*R**30~",
        "LS*2120~",
        "NM1*PRP*2*CIGNA*****PI*62308~",
        "LE*2120~",
        "SE*21*0042~",
        "GE*1*42~",
        "IEA*1*000000042~",
    ]
)


def test_dependent_271_from_another_system_with_plan_dates_and_ytd_deductible() -> None:
    answer = parse_271(OTHER_SYSTEM_271)
    assert answer.secondary is True
    assert answer.other_payer_name == "CIGNA"
    assert answer.benefits is not None
    assert (answer.benefits.plan_year_start, answer.benefits.plan_year_end) == (
        date(2026, 2, 1),
        date(2027, 1, 31),
    )
    # in network only: the out-of-network (EB12=N) deductible is ignored
    assert (answer.benefits.deductible, answer.benefits.deductible_met) == (
        Decimal("2000.00"),
        Decimal("250.00"),
    )


def test_payer_unable_to_respond_is_a_retryable_failure() -> None:
    raw = OTHER_SYSTEM_271.replace(
        "NM1*PR*2*UNITEDHEALTHCARE*****PI*87726~", "NM1*PR*2*UHC*****PI*87726~\nAAA*Y**42*R~"
    )
    with pytest.raises(PayerUnavailable):
        parse_271(raw)


@pytest.mark.parametrize(
    "raw", ["", "<html>502</html>", "ISA*garbage", OTHER_SYSTEM_271.replace("ST*271", "ST*835")]
)
def test_garbage_is_unreadable(raw: str) -> None:
    with pytest.raises(Unreadable271):
        parse_271(raw)
