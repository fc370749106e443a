"""Builds the X12 005010X279A1 270 eligibility inquiry for one coverage (x12sdk models, validated; rendered
once per shape of inquiry and filled in with the member's fields after)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache
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


def _model_270(inquiry: Inquiry, *, sender_id: str, receiver_id: str, created: datetime) -> str:
    return write_transactions(
        [build_270(inquiry)],
        sender_id=sender_id,
        receiver_id=receiver_id,
        interchange_control_number=inquiry.control_number,
        created=created,
    )


# What differs between two 270s of one shape (same payer, receiver and envelope, self or dependent, with or
# without a group number). A template is the x12sdk rendering of a 270 carrying these stand-ins, with every
# element equal to one turned into a slot; the first use of a shape checks it against a real rendering.
_STAND_INS = {
    "QQMEMBERQQ": "member_id",
    "QQGROUPQQ": "group_number",
    "QQSUBLASTQQ": "subscriber_last",
    "QQSUBFIRSTQQ": "subscriber_first",
    "QQPATLASTQQ": "patient_last",
    "QQPATFIRSTQQ": "patient_first",
    "18010101": "subscriber_dob",
    "18020202": "patient_dob",
    "18030303": "service_date",
    "QQTRACEQQ": "trace",
    "040404": "isa_date",
    "18040404": "gs_date",
    "0404": "time",
}
_STAND_IN_CREATED = datetime(1804, 4, 4, 4, 4)  # noqa: DTZ001 - ISA times are local, naive
# The X12 separators our writer uses; a name carrying one would end its element or segment.
_SEPARATORS = str.maketrans("", "", "*~:^\r\n")


@dataclass(frozen=True)
class _Shape:
    payer_name: str
    payer_x12_id: str
    receiver_name: str
    receiver_npi: str
    sender_id: str
    receiver_id: str
    relationship: str
    dependent: bool
    has_group: bool
    control_number: str


def _shape(inquiry: Inquiry, sender_id: str, receiver_id: str) -> _Shape:
    return _Shape(
        payer_name=inquiry.payer_name,
        payer_x12_id=inquiry.payer_x12_id,
        receiver_name=inquiry.receiver_name,
        receiver_npi=inquiry.receiver_npi,
        sender_id=sender_id,
        receiver_id=receiver_id,
        relationship=inquiry.relationship,
        dependent=inquiry.patient is not None and inquiry.relationship != "self",
        has_group=bool(inquiry.group_number),
        control_number=inquiry.control_number,
    )


def _stand_in(shape: _Shape) -> Inquiry:
    return Inquiry(
        trace_number="QQTRACEQQ",
        payer_name=shape.payer_name,
        payer_x12_id=shape.payer_x12_id,
        member_id="QQMEMBERQQ",
        group_number="QQGROUPQQ" if shape.has_group else None,
        subscriber=Person("QQSUBFIRSTQQ", "QQSUBLASTQQ", date(1801, 1, 1)),
        patient=Person("QQPATFIRSTQQ", "QQPATLASTQQ", date(1802, 2, 2)) if shape.dependent else None,
        relationship=shape.relationship,
        service_date=date(1803, 3, 3),
        receiver_name=shape.receiver_name,
        receiver_npi=shape.receiver_npi,
        control_number=shape.control_number,
    )


def _slots(inquiry: Inquiry, created: datetime) -> dict[str, str]:
    patient = inquiry.patient or inquiry.subscriber

    def name(value: str, limit: int) -> str:
        return _x12_name(value.translate(_SEPARATORS), limit)

    return {
        "member_id": inquiry.member_id.translate(_SEPARATORS),
        "group_number": (inquiry.group_number or "").translate(_SEPARATORS),
        "subscriber_last": name(inquiry.subscriber.last_name, 60),
        "subscriber_first": name(inquiry.subscriber.first_name, 35),
        "patient_last": name(patient.last_name, 60),
        "patient_first": name(patient.first_name, 35),
        "subscriber_dob": inquiry.subscriber.date_of_birth.strftime("%Y%m%d"),
        "patient_dob": patient.date_of_birth.strftime("%Y%m%d"),
        "service_date": inquiry.service_date.strftime("%Y%m%d"),
        "trace": inquiry.trace_number[:30].translate(_SEPARATORS),
        "isa_date": created.strftime("%y%m%d"),
        "gs_date": created.strftime("%Y%m%d"),
        "time": created.strftime("%H%M"),
    }


@lru_cache(maxsize=256)
def _template(shape: _Shape) -> str | None:
    """The 270 of this shape with a `{slot}` for every member field; None if it cannot be made faithful."""
    stand_in = _stand_in(shape)
    rendered = _model_270(
        stand_in, sender_id=shape.sender_id, receiver_id=shape.receiver_id, created=_STAND_IN_CREATED
    )
    segments = []
    for segment in rendered.replace("{", "{{").replace("}", "}}").split("~"):
        elements = segment.split("*")
        segments.append("*".join("{" + _STAND_INS[e] + "}" if e in _STAND_INS else e for e in elements))
    template = "~".join(segments)
    # Proof on a second inquiry of the same shape: the template filled must be what x12sdk writes.
    probe = replace(
        stand_in,
        trace_number="0A1B2C3D",
        member_id="PROBE0001",
        group_number="G-1" if shape.has_group else None,
        subscriber=Person("Grace", "Hopper", date(1970, 12, 9)),
        patient=Person("Alan", "Hopper", date(2001, 6, 23)) if shape.dependent else None,
        service_date=date(2026, 7, 8),
    )
    probe_created = datetime(2026, 7, 8, 9, 10)  # noqa: DTZ001 - as above
    expected = _model_270(
        probe, sender_id=shape.sender_id, receiver_id=shape.receiver_id, created=probe_created
    )
    if template.format_map(_slots(probe, probe_created)) != expected:
        return None
    return template


def render_270(inquiry: Inquiry, *, sender_id: str, receiver_id: str, created: datetime) -> str:
    """The complete interchange (ISA..IEA) to send to the clearinghouse.

    Built once per shape by x12sdk (a validated model) and filled in with the member's fields after."""
    template = _template(_shape(inquiry, sender_id, receiver_id))
    if template is None:
        return _model_270(inquiry, sender_id=sender_id, receiver_id=receiver_id, created=created)
    return template.format_map(_slots(inquiry, created))
