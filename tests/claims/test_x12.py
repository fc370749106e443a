"""Our 837P reads back with the same data; 835s from other systems parse, with their real-world variation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from x12sdk.generate import ClaimSpec, ServiceLineSpec, denial, generate_835, patient_responsibility

from claims.x12_835 import RemittanceUnreadable, read_835
from claims.x12_837 import ClaimFacts, Line, Person, build_837p, read_837p

JANE = Person("DOE", "JANE", date(1990, 1, 2), "1 MAIN ST", "ALBANY", "NY", "12207")
SAM = Person("DOE", "SAM", date(2012, 5, 6), "1 MAIN ST", "ALBANY", "NY", "12207")


def _facts(relationship: str = "self", **overrides: object) -> ClaimFacts:
    values: dict[str, object] = {
        "control_number": "0A1B2C3D4E5F60718293",
        "submitter_name": "PARITY",
        "submitter_id": "PARITY",
        "billing_provider_name": "SMITH",
        "billing_provider_npi": "1234567893",
        "billing_provider_tax_id": "990000001",
        "billing_address": ("2 OFFICE RD", "ALBANY", "NY", "12207"),
        "payer_name": "ANTHEM BLUE CROSS AND BLUE SHIELD",
        "payer_x12_id": "00803",
        "subscriber": JANE,
        "member_id": "YLS123456",
        "group_number": "G-77",
        "relationship": relationship,
        "patient": JANE if relationship == "self" else SAM,
        "date_of_service": date(2026, 3, 2),
        "place_of_service": "10",
        "diagnoses": ("F329", "F411"),
        "lines": (Line("90837", Decimal("180.00"), "95"), Line("90785", Decimal("25.00"), "95")),
    }
    values.update(overrides)
    return ClaimFacts(**values)  # type: ignore[arg-type]


def test_837p_parses_back_with_the_same_data_for_a_subscriber_patient() -> None:
    text = build_837p(_facts())
    assert "ST*837*0001*005010X222A2~" in text
    [claim] = read_837p(text)
    assert claim.control_number == "0A1B2C3D4E5F60718293"
    assert claim.charge == Decimal("205.00")
    assert claim.member_id == "YLS123456"
    assert claim.payer_id == "00803"
    assert claim.billing_npi == "1234567893"
    assert claim.frequency_code == "1"
    assert claim.diagnoses == ("F329", "F411")
    assert claim.procedures == ("HC:90837:95", "HC:90785:95")
    assert claim.service_dates == (date(2026, 3, 2), date(2026, 3, 2))
    assert not claim.is_dependent


def test_837p_puts_a_dependents_claim_under_the_dependent() -> None:
    [claim] = read_837p(build_837p(_facts("child")))
    assert claim.is_dependent
    assert claim.control_number == "0A1B2C3D4E5F60718293"


def test_resubmission_is_a_replacement_claim_naming_the_original() -> None:
    text = build_837p(_facts(frequency_code="7", original_payer_claim_number="PAYER123"))
    [claim] = read_837p(text)
    assert claim.frequency_code == "7"
    assert "REF*F8*PAYER123~" in text


def test_835_with_several_claims_and_lines_posts_each_claim() -> None:
    text = generate_835(
        seed=3,
        claims=[
            ClaimSpec(
                charge="205.00",
                patient_control_number="AAA",
                lines=[
                    ServiceLineSpec(
                        charge="180.00",
                        procedure="90837",
                        adjustments=[denial("CO", "45", "30.00"), patient_responsibility("2", "30.00")],
                    ),
                    ServiceLineSpec(
                        charge="25.00", procedure="90785", adjustments=[denial("CO", "45", "5.00")]
                    ),
                ],
            ),
            ClaimSpec(
                charge="100.00",
                status="4",
                adjustments=[denial("OA", "22", "100.00")],
                patient_control_number="BBB",
            ),
            ClaimSpec(
                charge="90.00",
                status="2",
                patient_control_number="CCC",
                adjustments=[denial("PI", "97", "10.00"), patient_responsibility("1", "20.00")],
            ),
        ],
    )
    aaa, bbb, ccc = read_835(text)
    assert (aaa.paid, aaa.patient_responsibility, aaa.allowed) == (
        Decimal("140.00"),
        Decimal("30.00"),
        Decimal("170.00"),
    )
    assert aaa.outcome == "paid"
    assert len(aaa.adjustments) == 3
    assert bbb.outcome == "denied"
    assert bbb.carc_codes == ["22"]
    assert ccc.status_code == "2"
    assert ccc.outcome == "partially_paid"


# Written by hand the way another payer's system might: one CAS with several pairs, MOA and LQ remarks,
# AMT*B6 allowed amounts, CLP05 given, a reversal (22) and a secondary (3).
FOREIGN_835 = (
    "ISA*00*          *00*          *ZZ*OTHERPAYER     *ZZ*PARITY         *260310*0930*^*00501*000000777*0*P*:~"
    "GS*HP*OTHERPAYER*PARITY*20260310*0930*77*X*005010X221A1~"
    "ST*835*1001~"
    "BPR*I*96.00*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*888888888*DA*654321*20260310~"
    "TRN*1*EFT0001*1512345678~"
    "N1*PR*OTHER HEALTH PLAN~"
    "N3*1 PAYER WAY~"
    "N4*HARTFORD*CT*06101~"
    "N1*PE*PARITY*XX*1234567893~"
    "LX*1~"
    "CLP*CLAIMONE*1*150.00*96.00*24.00*12*PCN1~"
    "NM1*QC*1*DOE*JANE****MI*M1~"
    "MOA***MA01~"
    "SVC*HC:90834:95*150.00*96.00**1~"
    "CAS*CO*45*30.00**253*0.00~"
    "CAS*PR*1*4.00**2*20.00~"
    "AMT*B6*120.00~"
    "LQ*HE*N130~"
    "CLP*CLAIMTWO*22*-150.00*-96.00**12*PCN0~"
    "CAS*CO*45*-30.00~"
    "CAS*PR*1*-24.00~"
    "NM1*QC*1*DOE*JANE****MI*M1~"
    "CLP*CLAIMTHREE*3*80.00*0.00*0.00*12*PCN3~"
    "NM1*QC*1*DOE*JANE****MI*M1~"
    "CAS*OA*23*80.00~"
    "SE*24*1001~"
    "GE*1*77~"
    "IEA*1*000000777~"
)


def test_835_from_another_system_parses_with_its_variations() -> None:
    one, two, three = read_835(FOREIGN_835)
    assert one.status_code == "1"
    assert one.paid == Decimal("96.00")
    assert one.patient_responsibility == Decimal("24.00")
    assert one.allowed == Decimal("120.00")  # from AMT*B6
    assert [(a.group_code, a.reason_code) for a in one.adjustments] == [
        ("CO", "45"),
        ("PR", "1"),
        ("PR", "2"),
    ]
    assert one.remark_codes == ("MA01", "N130")
    assert one.outcome == "paid"  # the zero CO-253 pair moves no money
    assert two.outcome == "reversed"
    assert three.outcome == "denied"
    assert three.carc_codes == ["23"]


def test_the_same_claim_payment_has_the_same_posting_key() -> None:
    assert [c.posting_key for c in read_835(FOREIGN_835)] == [c.posting_key for c in read_835(FOREIGN_835)]


@pytest.mark.parametrize("body", ["", "hello", "ISA*garbage~", FOREIGN_835.replace("ST*835", "ST*837")])
def test_unreadable_835_is_refused(body: str) -> None:
    with pytest.raises(RemittanceUnreadable):
        read_835(body)
