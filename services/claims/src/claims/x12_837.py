"""Our 005010X222A2 837P: built from a session's facts with x12sdk's models, and read back. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from x12sdk.io import X12ModelReader, write_transactions
from x12sdk.support import count_segments
from x12sdk.v5010.segments import (
    ClmSegment,
    DmgSegment,
    HiSegment,
    N3Segment,
    N4Segment,
    SeSegment,
    Sv1Segment,
)
from x12sdk.v5010.x12_837_005010X222A2.loops import (
    Footer,
    Header,
    Loop1000A,
    Loop1000B,
    Loop2000A,
    Loop2000B,
    Loop2000C,
    Loop2010Aa,
    Loop2010Ba,
    Loop2010Bb,
    Loop2010Ca,
    Loop2300,
    Loop2400,
)
from x12sdk.v5010.x12_837_005010X222A2.segments import (
    HeaderBhtSegment,
    HeaderStSegment,
    Loop1000ANm1Segment,
    Loop1000APerSegment,
    Loop1000BNm1Segment,
    Loop2000AHlSegment,
    Loop2000BHlSegment,
    Loop2000BSbrSegment,
    Loop2000CHlSegment,
    Loop2000CPatSegment,
    Loop2010AaNm1Segment,
    Loop2010AaRefSegment,
    Loop2010BaNm1Segment,
    Loop2010BbNm1Segment,
    Loop2010CaNm1Segment,
    Loop2300DtpSegment,
    Loop2300RefSegment,
    Loop2400DtpSegment,
)
from x12sdk.v5010.x12_837_005010X222A2.transaction_set import HealthCareClaimProfessional

# PAT01 / SBR02 individual relationship codes by eligibility's subscriber.relationship.
RELATIONSHIP_CODES = {"self": "18", "spouse": "01", "child": "19", "other": "G8"}


@dataclass(frozen=True)
class Person:
    last_name: str
    first_name: str
    date_of_birth: date
    address_line: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None


@dataclass(frozen=True)
class Line:
    cpt_code: str
    charge: Decimal
    modifier: str | None = None
    units: int = 1


@dataclass(frozen=True)
class ClaimFacts:
    control_number: str
    submitter_name: str
    submitter_id: str
    billing_provider_name: str
    billing_provider_npi: str
    billing_provider_tax_id: str
    billing_address: tuple[str, str, str, str]  # line, city, state, zip
    payer_name: str
    payer_x12_id: str
    subscriber: Person
    member_id: str
    group_number: str | None
    relationship: str  # self | spouse | child | other
    patient: Person  # the subscriber again when relationship is self
    date_of_service: date
    place_of_service: str
    diagnoses: tuple[str, ...]
    lines: tuple[Line, ...]
    frequency_code: str = "1"  # 1 original, 7 replacement
    original_payer_claim_number: str | None = None
    created: datetime | None = None

    @property
    def charge(self) -> Decimal:
        return sum((line.charge * line.units for line in self.lines), Decimal("0.00"))


def _address(person: Person) -> dict[str, Any]:
    if not (person.address_line and person.city and person.state and person.postal_code):
        return {}  # N3/N4 are situational; we send them only when we hold the whole address
    return {
        "n3_segment": N3Segment(address_information_1=person.address_line),
        "n4_segment": N4Segment(
            city_name=person.city, state_province_code=person.state, postal_code=person.postal_code
        ),
    }


def _dmg(person: Person) -> DmgSegment:
    return DmgSegment(
        # eligibility does not give us a gender; 5010 allows DMG03 to be omitted when unknown to the submitter
        date_time_period_format_qualifier="D8",
        date_time_period=person.date_of_birth.strftime("%Y%m%d"),
    )


def _claim(f: ClaimFacts) -> Loop2300:
    dos = f.date_of_service.strftime("%Y%m%d")
    codes: dict[str, list[str]] = {}
    for i, code in enumerate(f.diagnoses[:12], start=1):
        codes[f"health_care_code_{i}"] = ["ABK" if i == 1 else "ABF", code]
    pointer = ":".join(str(i) for i in range(1, min(len(f.diagnoses), 4) + 1))
    lines = []
    for n, line in enumerate(f.lines, start=1):
        procedure = f"HC:{line.cpt_code}" + (f":{line.modifier}" if line.modifier else "")
        lines.append(
            Loop2400(
                lx_segment={"assigned_number": str(n)},
                sv1_segment=Sv1Segment(
                    product_service_id_qualifier=procedure,
                    line_item_charge_amount=line.charge * line.units,
                    unit_basis_measurement_code="UN",
                    service_unit_count=Decimal(line.units),
                    composite_diagnosis_code_pointer=pointer,
                ),
                dtp_segment=[
                    Loop2400DtpSegment(
                        date_time_qualifier="472",
                        date_time_period_format_qualifier="D8",
                        date_time_period=dos,
                    )
                ],
            )
        )
    refs = None
    if f.frequency_code == "7" and f.original_payer_claim_number:
        refs = [
            Loop2300RefSegment(
                reference_identification_qualifier="F8",
                reference_identification=f.original_payer_claim_number,
            )
        ]
    return Loop2300(
        clm_segment=ClmSegment(
            patient_control_number=f.control_number,
            total_claim_charge_amount=f.charge,
            health_care_service_location_information=f"{f.place_of_service}:B:{f.frequency_code}",
            provider_or_supplier_signature_indicator="Y",
            provider_accept_assignment_code="A",
            benefit_assignment_certification_indicator="Y",
            release_of_information_code="Y",
        ),
        dtp_segment=[
            Loop2300DtpSegment(
                date_time_qualifier="431", date_time_period_format_qualifier="D8", date_time_period=dos
            )
        ],
        ref_segment=refs,
        hi_segment=[HiSegment(**codes)],
        loop_2400=lines,
    )


def build_837p(f: ClaimFacts) -> str:
    """The complete interchange (ISA..IEA) for one claim."""
    dependent = f.relationship != "self"
    claim = _claim(f)
    sub = f.subscriber
    subscriber = Loop2000B(
        hl_segment=Loop2000BHlSegment(
            hierarchical_id_number="2",
            hierarchical_parent_id_number="1",
            hierarchical_level_code="22",
            hierarchical_child_code="1" if dependent else "0",
        ),
        sbr_segment=Loop2000BSbrSegment(
            payer_responsibility_code="P",
            individual_relationship_code=None if dependent else "18",
            group_policy_number=f.group_number,
            claim_filing_indicator_code="CI",
        ),
        loop_2010ba=Loop2010Ba(
            nm1_segment=Loop2010BaNm1Segment(
                entity_identifier_code="IL",
                entity_type_qualifier="1",
                name_last_or_organization_name=sub.last_name,
                name_first=sub.first_name,
                identification_code_qualifier="MI",
                identification_code=f.member_id,
            ),
            dmg_segment=_dmg(sub),
            **_address(sub),
        ),
        loop_2010bb=Loop2010Bb(
            nm1_segment=Loop2010BbNm1Segment(
                entity_identifier_code="PR",
                entity_type_qualifier="2",
                name_last_or_organization_name=f.payer_name,
                identification_code_qualifier="PI",
                identification_code=f.payer_x12_id,
            )
        ),
        loop_2300=None if dependent else [claim],
    )
    if dependent:
        subscriber.loop_2000c = [
            Loop2000C(
                hl_segment=Loop2000CHlSegment(
                    hierarchical_id_number="3",
                    hierarchical_parent_id_number="2",
                    hierarchical_level_code="23",
                    hierarchical_child_code="0",
                ),
                pat_segment=Loop2000CPatSegment(
                    individual_relationship_code=RELATIONSHIP_CODES.get(f.relationship, "G8")
                ),
                loop_2010ca=Loop2010Ca(
                    nm1_segment=Loop2010CaNm1Segment(
                        entity_identifier_code="QC",
                        entity_type_qualifier="1",
                        name_last_or_organization_name=f.patient.last_name,
                        name_first=f.patient.first_name,
                    ),
                    dmg_segment=_dmg(f.patient),
                    **_address(f.patient),
                ),
                loop_2300=[claim],
            )
        ]
    created = f.created or datetime.now(UTC)
    line, city, state, postal = f.billing_address
    structure: dict[str, Any] = {
        "header": Header(
            st_segment=HeaderStSegment(
                transaction_set_identifier_code="837",
                transaction_set_control_number="0001",
                implementation_convention_reference="005010X222A2",
            ),
            bht_segment=HeaderBhtSegment(
                hierarchical_structure_code="0019",
                transaction_set_purpose_code="00",
                submitter_transactional_identifier=f.control_number,
                transaction_set_creation_date=created.strftime("%Y%m%d"),
                transaction_set_creation_time=created.strftime("%H%M"),
                transaction_type_code="CH",
            ),
        ),
        "loop_1000a": Loop1000A(
            nm1_segment=Loop1000ANm1Segment(
                entity_identifier_code="41",
                entity_type_qualifier="2",
                name_last_or_organization_name=f.submitter_name,
                identification_code_qualifier="46",
                identification_code=f.submitter_id,
            ),
            per_segment=[
                Loop1000APerSegment(
                    contact_function_code="IC",
                    name="BILLING",
                    communication_number_qualifier_1="TE",
                    communication_number_1="8005550100",
                )
            ],
        ),
        "loop_1000b": Loop1000B(
            nm1_segment=Loop1000BNm1Segment(
                entity_identifier_code="40",
                entity_type_qualifier="2",
                name_last_or_organization_name=f.payer_name,
                identification_code_qualifier="46",
                identification_code=f.payer_x12_id,
            )
        ),
        "loop_2000a": [
            Loop2000A(
                hl_segment=Loop2000AHlSegment(
                    hierarchical_id_number="1", hierarchical_level_code="20", hierarchical_child_code="1"
                ),
                loop_2010aa=Loop2010Aa(
                    nm1_segment=Loop2010AaNm1Segment(
                        entity_identifier_code="85",
                        entity_type_qualifier="1",
                        name_last_or_organization_name=f.billing_provider_name,
                        identification_code_qualifier="XX",
                        identification_code=f.billing_provider_npi,
                    ),
                    n3_segment=N3Segment(address_information_1=line),
                    n4_segment=N4Segment(city_name=city, state_province_code=state, postal_code=postal),
                    ref_segment=[
                        Loop2010AaRefSegment(
                            reference_identification_qualifier="EI",
                            reference_identification=f.billing_provider_tax_id,
                        )
                    ],
                ),
                loop_2000b=[subscriber],
            )
        ],
    }
    placeholder = dict(
        structure,
        footer={"se_segment": {"transaction_segment_count": 1, "transaction_set_control_number": "0001"}},
    )
    structure["footer"] = Footer(
        se_segment=SeSegment(
            transaction_segment_count=count_segments(placeholder), transaction_set_control_number="0001"
        )
    )
    model = HealthCareClaimProfessional(**structure)
    return write_transactions(
        [model],
        sender_id=f.submitter_id,
        receiver_id=f.payer_x12_id,
        interchange_control_number=str(int(f.control_number[:9], 16) % 1_000_000_000),
        created=created,
    )


@dataclass(frozen=True)
class ReadClaim:
    control_number: str
    charge: Decimal
    member_id: str | None
    payer_id: str | None
    billing_npi: str | None
    frequency_code: str
    diagnoses: tuple[str, ...]
    procedures: tuple[str, ...]
    service_dates: tuple[date, ...]
    is_dependent: bool


def read_837p(text: str) -> list[ReadClaim]:
    """Every claim in an 837P interchange (both the subscriber and the dependent branch)."""
    out = []
    with X12ModelReader(text) as reader:
        for model in reader.models():
            for c in model.claims():  # type: ignore[attr-defined]
                hi = c.claim.hi_segment[0] if c.claim.hi_segment else None
                diagnoses = []
                if hi is not None:
                    for i in range(1, 13):
                        value = getattr(hi, f"health_care_code_{i}", None)
                        if value:
                            diagnoses.append(value[1])
                lines = c.service_lines
                out.append(
                    ReadClaim(
                        control_number=c.patient_control_number,
                        charge=c.charge,
                        member_id=c.member_id,
                        payer_id=c.payer.nm1_segment.identification_code,
                        billing_npi=c.billing_provider_npi,
                        frequency_code=str(
                            c.claim.clm_segment.health_care_service_location_information
                        ).split(":")[-1],
                        diagnoses=tuple(diagnoses),
                        procedures=tuple(str(x.sv1_segment.product_service_id_qualifier) for x in lines),
                        service_dates=tuple(
                            x.dtp_segment[0].date_time_period for x in lines if x.dtp_segment
                        ),
                        is_dependent=c.is_dependent,
                    )
                )
    return out
