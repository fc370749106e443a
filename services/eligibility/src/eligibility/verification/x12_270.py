"""Builds the X12 005010X279A1 270 eligibility inquiry for one coverage (x12sdk models, validated)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from x12sdk.io import write_transactions
from x12sdk.models import X12SegmentGroup
from x12sdk.v5010.segments import DmgSegment, SeSegment, TrnSegment
from x12sdk.v5010.x12_270_005010X279A1 import loops as L
from x12sdk.v5010.x12_270_005010X279A1 import segments as S
from x12sdk.v5010.x12_270_005010X279A1.transaction_set import EligibilityInquiry

# Outpatient behavioral health: "MH" (mental health) is what payers answer benefits for; "30" asks
# for the plan's general coverage status so a terminated or secondary plan is reported too.
SERVICE_TYPES = ("30", "MH")

# X12 relationship of the patient to the subscriber (INS02 on loop 2100D).
RELATIONSHIP_CODES = {"spouse": "01", "child": "19", "other": "G8"}


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    date_of_birth: date


@dataclass(frozen=True)
class Inquiry:
    """What one 270 asks: is this member covered for outpatient behavioral health today?"""

    trace_number: str  # TRN02, echoed on the 271; our verification id
    payer_name: str
    payer_x12_id: str
    member_id: str
    group_number: str | None
    subscriber: Person
    patient: Person | None  # None when the patient is the subscriber
    relationship: str  # self | spouse | child | other
    service_date: date
    receiver_name: str
    receiver_npi: str
    control_number: str = "0001"


def _x12_name(value: str, limit: int) -> str:
    return value.strip().upper()[:limit]


def _person_name(person: Person) -> dict[str, str]:
    return {
        "name_last_or_organization_name": _x12_name(person.last_name, 60),
        "name_first": _x12_name(person.first_name, 35),
    }


def _dmg(person: Person) -> DmgSegment:
    return DmgSegment(
        date_time_period_format_qualifier="D8", date_time_period=person.date_of_birth.strftime("%Y%m%d")
    )


def _eq() -> list[L.Loop2110C]:
    return [L.Loop2110C(eq_segment=S.Loop2110EqSegment(service_type_code=[code])) for code in SERVICE_TYPES]


def _service_dtp(day: date) -> S.Loop2100DtpSegment:
    return S.Loop2100DtpSegment(
        date_time_qualifier="291",
        date_time_period_format_qualifier="D8",
        date_time_period=day.strftime("%Y%m%d"),
    )


def build_270(inquiry: Inquiry) -> EligibilityInquiry:
    """The 270 as a validated x12sdk model."""
    dependent = inquiry.patient is not None and inquiry.relationship != "self"
    refs = (
        [
            S.Loop2100RefSegment(
                reference_identification_qualifier="6P", reference_identification=inquiry.group_number
            )
        ]
        if inquiry.group_number
        else None
    )
    subscriber = L.Loop2100C(
        nm1_segment=S.Loop2100CNm1Segment(
            entity_identifier_code="IL",
            entity_type_qualifier="1",
            identification_code_qualifier="MI",
            identification_code=inquiry.member_id,
            **_person_name(inquiry.subscriber),
        ),
        ref_segment=refs,
        dmg_segment=_dmg(inquiry.subscriber),
        dtp_segment=_service_dtp(inquiry.service_date),
        loop_2110c=None if dependent else _eq(),
    )
    loop_2000c = L.Loop2000C(
        hl_segment=S.Loop2000CHlSegment(
            hierarchical_id_number="3",
            hierarchical_parent_id_number="2",
            hierarchical_level_code="22",
            hierarchical_child_code="1" if dependent else "0",
        ),
        trn_segment=[
            TrnSegment(
                trace_type_code="1",
                reference_identification_1=inquiry.trace_number,
                originating_company_identifier="9" + inquiry.receiver_npi[:9].rjust(9, "0"),
            )
        ],
        loop_2100c=subscriber,
    )
    if dependent:
        assert inquiry.patient is not None
        loop_2000c.loop_2000d = [
            L.Loop2000D(
                hl_segment=S.Loop2000DHlSegment(
                    hierarchical_id_number="4",
                    hierarchical_parent_id_number="3",
                    hierarchical_level_code="23",
                    hierarchical_child_code="0",
                ),
                loop_2100d=L.Loop2100D(
                    nm1_segment=S.Loop2100DNm1Segment(
                        entity_identifier_code="03",
                        entity_type_qualifier="1",
                        **_person_name(inquiry.patient),
                    ),
                    dmg_segment=_dmg(inquiry.patient),
                    ins_segment=S.Loop2100DInsSegment(
                        member_indicator="N",
                        individual_relationship_code=RELATIONSHIP_CODES.get(inquiry.relationship, "G8"),
                    ),
                    dtp_segment=_service_dtp(inquiry.service_date),
                    loop_2110d=[
                        L.Loop2110D(eq_segment=S.Loop2110EqSegment(service_type_code=[code]))
                        for code in SERVICE_TYPES
                    ],
                ),
            )
        ]
    structure: dict[str, Any] = {
        "header": L.Header(
            st_segment=S.HeaderStSegment(
                transaction_set_identifier_code="270",
                transaction_set_control_number=inquiry.control_number,
                implementation_convention_reference="005010X279A1",
            ),
            bht_segment=S.HeaderBhtSegment(
                hierarchical_structure_code="0022",
                transaction_set_purpose_code="13",
                submitter_transactional_identifier=inquiry.trace_number[:50],
                transaction_set_creation_date=inquiry.service_date.strftime("%Y%m%d"),
                transaction_set_creation_time="1200",
            ),
        ),
        "loop_2000a": [
            L.Loop2000A(
                hl_segment=S.Loop2000AHlSegment(
                    hierarchical_id_number="1", hierarchical_level_code="20", hierarchical_child_code="1"
                ),
                loop_2100a=L.Loop2100A(
                    nm1_segment=S.Loop2100ANm1Segment(
                        entity_identifier_code="PR",
                        entity_type_qualifier="2",
                        name_last_or_organization_name=_x12_name(inquiry.payer_name, 60),
                        identification_code_qualifier="PI",
                        identification_code=inquiry.payer_x12_id,
                    )
                ),
                loop_2000b=[
                    L.Loop2000B(
                        hl_segment=S.Loop2000BHlSegment(
                            hierarchical_id_number="2",
                            hierarchical_parent_id_number="1",
                            hierarchical_level_code="21",
                            hierarchical_child_code="1",
                        ),
                        loop_2100b=L.Loop2100B(
                            nm1_segment=S.Loop2100BNm1Segment(
                                entity_identifier_code="1P",
                                entity_type_qualifier="2",
                                name_last_or_organization_name=_x12_name(inquiry.receiver_name, 60),
                                identification_code_qualifier="XX",
                                identification_code=inquiry.receiver_npi,
                            )
                        ),
                        loop_2000c=[loop_2000c],
                    )
                ],
            )
        ],
    }
    return _finish(structure, inquiry.control_number)


def _count_segments(model: X12SegmentGroup) -> int:
    return sum(1 for line in model.x12(use_new_lines=True).splitlines() if line.strip())


def _finish(structure: dict[str, Any], control_number: str) -> EligibilityInquiry:
    """Attaches the SE with the segment count (ST through SE) and validates the whole transaction."""
    body = sum(_count_segments(part) for part in [structure["header"], *structure["loop_2000a"]])
    structure["footer"] = L.Footer(
        se_segment=SeSegment(
            transaction_segment_count=body + 1, transaction_set_control_number=control_number
        )
    )
    return EligibilityInquiry(**structure)


def render_270(inquiry: Inquiry, *, sender_id: str, receiver_id: str, created: datetime) -> str:
    """The complete interchange (ISA..IEA) to send to the clearinghouse."""
    return write_transactions(
        [build_270(inquiry)],
        sender_id=sender_id,
        receiver_id=receiver_id,
        interchange_control_number=inquiry.control_number,
        created=created,
    )
