"""Reads a 270 and answers it with a 271, both through x12sdk models, the way a payer's system does."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from x12sdk.io import X12SegmentReader, write_transactions
from x12sdk.models import X12SegmentGroup
from x12sdk.v5010.segments import (
    DmgSegment,
    EbSegment,
    LeSegment,
    LsSegment,
    MsgSegment,
    SeSegment,
    TrnSegment,
)
from x12sdk.v5010.x12_271_005010X279A1 import loops as L
from x12sdk.v5010.x12_271_005010X279A1 import segments as S

from sandbox.clearinghouse.members import Member


class Invalid270(ValueError):
    pass


@dataclass(frozen=True)
class Party:
    """An NM1 of the 270, by the x12sdk element names the 271 echoes."""

    name_last_or_organization_name: str | None
    name_first: str | None = None
    identification_code: str | None = None


@dataclass(frozen=True)
class Person:
    """Loop 2100C/D of the 270: who, and the demographics the 271 echoes."""

    nm1_segment: Party
    dmg_segment: DmgSegment | None


@dataclass(frozen=True)
class Trace:
    reference_identification_1: str
    originating_company_identifier: str | None


@dataclass(frozen=True)
class Inquiry:
    """The parts of a 270 a 271 echoes back."""

    bht_reference: str
    payer: Party  # 2100A NM1
    receiver: Party  # 2100B NM1
    subscriber: Person  # 2100C
    dependent: Person | None  # 2100D
    trace: Trace | None  # 2000C TRN

    @property
    def member_id(self) -> str:
        return str(self.subscriber.nm1_segment.identification_code or "")


def _element(fields: list[str], position: int) -> str | None:
    value = fields[position].strip() if len(fields) > position else ""
    return value or None


def read_270(raw: str) -> Inquiry:
    """The first subscriber of the first 270 in the interchange.

    Read in one pass of x12sdk's segment reader, checking what a payer answers from: a 270 of
    005010X279A1 with its BHT, the source/receiver/subscriber levels, the payer, the receiver and the
    subscriber with a member id, and valid DMG dates. (Building the whole x12sdk transaction model for every
    inquiry was half of the sandbox's CPU per request; eligibility proves its 270 against that model.)"""
    if not raw or not raw.lstrip().startswith("ISA"):
        raise Invalid270("not a valid 005010X279A1 270: not an X12 interchange")
    try:
        return _read_270(raw.lstrip())
    except Invalid270:
        raise
    except Exception as exc:
        raise Invalid270(f"not a valid 005010X279A1 270: {type(exc).__name__}: {str(exc)[:300]}") from exc


# NM101 the implementation guide allows on loops 2100A (source), B (receiver), C (subscriber), D (dependent).
_ENTITIES = {
    "20": ("2B", "36", "GP", "P5", "PR"),
    "21": ("1P", "2B", "36", "80", "FA", "GP", "P5", "PR"),
    "22": ("IL",),
    "23": ("03",),
}


def _read_270(raw: str) -> Inquiry:
    transaction = version = bht = ""
    level = ""
    levels: list[str] = []
    parties: dict[str, Party] = {}
    people: dict[str, tuple[Party, DmgSegment | None]] = {}
    trace: Trace | None = None
    with X12SegmentReader(raw) as reader:
        for name, fields in reader.segments():
            if name == "GS":
                version = _element(fields, 8) or version
            elif name == "ST":
                if transaction:
                    break  # the first transaction only
                transaction = _element(fields, 1) or ""
                version = _element(fields, 3) or version
            elif name == "BHT":
                bht = _element(fields, 3) or ""
            elif name == "HL":
                level = _element(fields, 3) or ""
                levels.append(level)
            elif name == "NM1" and level not in parties and level not in people:
                if _element(fields, 1) not in _ENTITIES.get(level, ()):
                    raise Invalid270(f"not a valid 005010X279A1 270: NM1*{fields[1]} on HL level {level}")
                party = Party(_element(fields, 3), _element(fields, 4), _element(fields, 9))
                if level in ("22", "23"):
                    people[level] = (party, None)
                else:
                    parties[level] = party
            elif name == "DMG" and level in people and people[level][1] is None:
                dmg = DmgSegment(
                    date_time_period_format_qualifier=_element(fields, 1),
                    date_time_period=_element(fields, 2),
                    gender_code=_element(fields, 3),
                )
                people[level] = (people[level][0], dmg)
            elif name == "TRN" and level == "22" and trace is None:
                trace = Trace(_element(fields, 2) or "", _element(fields, 3))
    if transaction != "270" or version != "005010X279A1":
        raise Invalid270("the interchange holds no 270")
    missing = [
        what
        for what, present in (
            ("BHT03", bool(bht)),
            ("the information source (HL 20, NM1*PR)", "20" in parties),
            ("the information receiver (HL 21, NM1*1P)", "21" in parties),
            ("the subscriber (HL 22, NM1*IL)", "22" in people),
        )
        if not present
    ]
    if not missing and not people["22"][0].identification_code:
        missing.append("the member id (NM109 on loop 2100C)")
    if missing:
        raise Invalid270("not a valid 005010X279A1 270: missing " + ", ".join(missing))
    dependent = people.get("23")
    return Inquiry(
        bht_reference=bht,
        payer=parties["20"],
        receiver=parties["21"],
        subscriber=Person(*people["22"]),
        dependent=Person(*dependent) if dependent else None,
        trace=trace,
    )


def _eb(code: str, **kw: Any) -> EbSegment:
    return EbSegment(eligibility_benefit_information=code, **kw)


def _mh(code: str, **kw: Any) -> EbSegment:
    return _eb(code, coverage_level_code="IND", service_type_code=["MH"], inplan_network_indicator="Y", **kw)


def _benefit_segments(member: Member) -> list[tuple[EbSegment, list[Any] | None, list[MsgSegment] | None]]:
    out: list[tuple[EbSegment, list[Any] | None, list[MsgSegment] | None]] = []
    if member.status == "terminated":
        return [(_eb("6", coverage_level_code="IND", service_type_code=["30"]), None, None)]
    out.append((_eb("1", coverage_level_code="IND", service_type_code=["30", "MH"]), None, None))
    b = member.benefits
    if b is not None:
        auth = "Y" if b.prior_authorization_required else None
        out.append(
            (
                _mh(
                    "1",
                    plan_coverage_description="OUTPATIENT BEHAVIORAL HEALTH",
                    authorization_certification_indicator=auth,
                ),
                None,
                None,
            )
        )
        if b.copay is not None:
            out.append((_mh("B", time_period_qualifier="27", benefit_amount=b.copay), None, None))
        if b.coinsurance_rate is not None:
            out.append((_mh("A", time_period_qualifier="27", benefit_percent=b.coinsurance_rate), None, None))
        for code, total, met in (
            ("C", b.deductible, b.deductible_met),
            ("G", b.out_of_pocket_max, b.out_of_pocket_met),
        ):
            out.append((_mh(code, time_period_qualifier="23", benefit_amount=total), None, None))
            remaining = max(total - met, Decimal("0.00"))
            out.append((_mh(code, time_period_qualifier="29", benefit_amount=remaining), None, None))
    if member.status == "secondary":
        primary = S.Loop2120Nm1Segment(
            entity_identifier_code="PRP",
            entity_type_qualifier="2",
            name_last_or_organization_name=(member.other_payer_name or "OTHER PAYER")[:60],
            identification_code_qualifier="PI",
            identification_code="99999",
        )
        out.append(
            (
                _eb("R", service_type_code=["30"]),
                [primary],
                [MsgSegment(free_form_text="THIS PLAN IS SECONDARY; BILL THE PRIMARY PAYER FIRST")],
            )
        )
    return out


def _benefit_loops(member: Member, loop_cls: Any, entity_cls: Any, entity_field: str) -> list[Any]:
    loops = []
    for eb, entities, msgs in _benefit_segments(member):
        kwargs: dict[str, Any] = {"eb_segment": eb, "msg_segment": msgs}
        if entities:
            kwargs.update(
                ls_segment=LsSegment(loop_id_code="2120"),
                le_segment=LeSegment(loop_id_code="2120"),
                **{entity_field: [entity_cls(nm1_segment=e) for e in entities]},
            )
        loops.append(loop_cls(**kwargs))
    return loops


def _plan_dtp(member: Member) -> list[S.Loop2100DtpSegment] | None:
    if member.benefits is None or member.status in ("terminated", "not_found"):
        return None
    b = member.benefits
    return [
        S.Loop2100DtpSegment(
            date_time_qualifier="291",
            date_time_period_format_qualifier="RD8",
            date_time_period=f"{b.plan_year_start:%Y%m%d}-{b.plan_year_end:%Y%m%d}",
        )
    ]


_AAA_NOT_FOUND: dict[str, Any] = {
    "response_code": "Y",
    "reject_reason_code": "75",
    "follow_up_action_code": "C",
}


def _not_found() -> list[Any]:
    # AAA 75 (subscriber/insured not found) is what payers send; x12sdk's loop-2100 model lists fewer
    # reject codes than the implementation guide, so the segment is built without its enum check.
    return [S.Loop2100BAaaSegment.model_construct(**_AAA_NOT_FOUND)]


def build_271(inquiry: Inquiry, member: Member, *, created: datetime, control_number: str = "0001") -> str:
    """The 271 answering `inquiry` from `member`'s plan, as a complete interchange.

    x12sdk builds it once per plan and shape of inquiry; later answers of that shape fill in the echoed
    names, ids, dates and control numbers (a template proven on its first use, see _template)."""
    key = _Key(
        plan=replace(member, member_id="", delay_seconds=0.0, raw_271=None),
        payer=inquiry.payer,
        receiver=inquiry.receiver,
        subscriber_first=inquiry.subscriber.nm1_segment.name_first is not None,
        subscriber_dmg=_dmg_shape(inquiry.subscriber),
        dependent=None
        if inquiry.dependent is None
        else (inquiry.dependent.nm1_segment.name_first is not None, _dmg_shape(inquiry.dependent)),
        trace=None if inquiry.trace is None else inquiry.trace.originating_company_identifier,
    )
    if key not in _TEMPLATES:
        if len(_TEMPLATES) >= 4096:
            _TEMPLATES.clear()
        answer = _model_271(inquiry, member, created=created, control_number=control_number)
        _TEMPLATES[key] = _template(key, inquiry, answer, created=created, control_number=control_number)
        return answer
    template = _TEMPLATES[key]
    if template is None:
        return _model_271(inquiry, member, created=created, control_number=control_number)
    return template.format_map(_slots(inquiry, created=created, control_number=control_number))


@dataclass(frozen=True)
class _Key:
    """What decides a 271's structure: the plan, the echoed payer and receiver, which optional elements the
    inquiry carries, and the DMG qualifiers and gender (coded values, not slots)."""

    plan: Member
    payer: Party
    receiver: Party
    subscriber_first: bool
    subscriber_dmg: tuple[str | None, str | None] | None
    dependent: tuple[bool, tuple[str | None, str | None] | None] | None
    trace: str | None


def _dmg_shape(person: Person) -> tuple[str | None, str | None] | None:
    dmg = person.dmg_segment
    return None if dmg is None else (_code(dmg.date_time_period_format_qualifier), _code(dmg.gender_code))


def _code(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


_TEMPLATES: dict[_Key, str | None] = {}
_STAND_IN_CREATED = datetime(1804, 4, 4, 4, 4)  # noqa: DTZ001 - ISA times are local, naive
_STAND_INS = {
    "QQBHTQQ": "bht",
    "QQSLASTQQ": "subscriber_last",
    "QQSFIRSTQQ": "subscriber_first",
    "QQMIDQQ": "member_id",
    "18010101": "subscriber_dob",
    "QQDLASTQQ": "dependent_last",
    "QQDFIRSTQQ": "dependent_first",
    "18020202": "dependent_dob",
    "QQTRNQQ": "trace",
    "18040404": "date8",
    "040404": "date6",
    "0404": "time",
    "7777": "control",
    "000007777": "control9",
}


def _stand_in_person(person: Person, last: str, first: str, member_id: str | None, dob: str) -> Person:
    nm1 = person.nm1_segment
    dmg = person.dmg_segment
    return Person(
        Party(last, first if nm1.name_first is not None else None, member_id),
        None if dmg is None else dmg.model_copy(update={"date_time_period": dob}),
    )


def _slots(inquiry: Inquiry, *, created: datetime, control_number: str) -> dict[str, str]:
    sub, dep = inquiry.subscriber, inquiry.dependent

    def dob(person: Person | None) -> str:
        period = person.dmg_segment.date_time_period if person and person.dmg_segment else ""
        return period.strftime("%Y%m%d") if isinstance(period, date) else str(period or "")

    return {
        "bht": inquiry.bht_reference,
        "subscriber_last": sub.nm1_segment.name_last_or_organization_name or "",
        "subscriber_first": sub.nm1_segment.name_first or "",
        "member_id": sub.nm1_segment.identification_code or "",
        "subscriber_dob": dob(sub),
        "dependent_last": (dep.nm1_segment.name_last_or_organization_name or "") if dep else "",
        "dependent_first": (dep.nm1_segment.name_first or "") if dep else "",
        "dependent_dob": dob(dep),
        "trace": inquiry.trace.reference_identification_1 if inquiry.trace else "",
        "date8": created.strftime("%Y%m%d"),
        "date6": created.strftime("%y%m%d"),
        "time": created.strftime("%H%M"),
        "control": control_number,
        "control9": control_number.zfill(9),
    }


def _template(
    key: _Key, inquiry: Inquiry, answer: str, *, created: datetime, control_number: str
) -> str | None:
    """The x12sdk rendering of a stand-in inquiry of this shape with its echoed elements as `{slots}`,
    kept only when filling it for the real inquiry gives exactly what x12sdk wrote for it."""
    stand_in = Inquiry(
        bht_reference="QQBHTQQ",
        payer=inquiry.payer,
        receiver=inquiry.receiver,
        subscriber=_stand_in_person(inquiry.subscriber, "QQSLASTQQ", "QQSFIRSTQQ", "QQMIDQQ", "18010101"),
        dependent=None
        if inquiry.dependent is None
        else _stand_in_person(inquiry.dependent, "QQDLASTQQ", "QQDFIRSTQQ", None, "18020202"),
        trace=None if inquiry.trace is None else replace(inquiry.trace, reference_identification_1="QQTRNQQ"),
    )
    try:
        rendered = _model_271(stand_in, key.plan, created=_STAND_IN_CREATED, control_number="7777")
    except ValueError:
        return None
    segments = []
    for segment in rendered.replace("{", "{{").replace("}", "}}").split("~"):
        elements = segment.split("*")
        segments.append("*".join("{" + _STAND_INS[e] + "}" if e in _STAND_INS else e for e in elements))
    template = "~".join(segments)
    filled = template.format_map(_slots(inquiry, created=created, control_number=control_number))
    return template if filled == answer else None


def _model_271(inquiry: Inquiry, member: Member, *, created: datetime, control_number: str) -> str:
    sub = inquiry.subscriber
    nm1 = sub.nm1_segment
    found = member.status != "not_found"
    dependent = inquiry.dependent
    subscriber_loop = L.Loop2100C(
        nm1_segment=S.Loop2100CNm1Segment(
            entity_identifier_code="IL",
            entity_type_qualifier="1",
            name_last_or_organization_name=nm1.name_last_or_organization_name,
            name_first=nm1.name_first,
            identification_code_qualifier="MI",
            identification_code=nm1.identification_code,
        ),
        aaa_segment=None if found else _not_found(),
        dmg_segment=sub.dmg_segment,
        dtp_segment=_plan_dtp(member) if found else None,
        loop_2110c=_benefit_loops(member, L.Loop2110C, L.Loop2120C, "loop_2120c")
        if found and not dependent
        else None,
    )
    loop_2000c = L.Loop2000C(
        hl_segment=S.Loop2000CHlSegment(
            hierarchical_id_number="3",
            hierarchical_parent_id_number="2",
            hierarchical_level_code="22",
            hierarchical_child_code="1" if dependent and found else "0",
        ),
        trn_segment=[
            TrnSegment(
                trace_type_code="2",
                reference_identification_1=inquiry.trace.reference_identification_1,
                originating_company_identifier=inquiry.trace.originating_company_identifier,
            )
        ]
        if inquiry.trace
        else None,
        loop_2100c=subscriber_loop,
    )
    if dependent is not None and found:
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
                        name_last_or_organization_name=dependent.nm1_segment.name_last_or_organization_name,
                        name_first=dependent.nm1_segment.name_first,
                    ),
                    dmg_segment=dependent.dmg_segment,
                    dtp_segment=_plan_dtp(member),
                    loop_2110d=_benefit_loops(member, L.Loop2110D, L.Loop2120D, "loop_2120d"),
                ),
            )
        ]
    header = L.Header(
        st_segment=S.HeaderStSegment(
            transaction_set_identifier_code="271",
            transaction_set_control_number=control_number,
            implementation_convention_reference="005010X279A1",
        ),
        bht_segment=S.HeaderBhtSegment(
            hierarchical_structure_code="0022",
            transaction_set_purpose_code="11",
            submitter_transactional_identifier=inquiry.bht_reference,
            transaction_set_creation_date=created.strftime("%Y%m%d"),
            transaction_set_creation_time=created.strftime("%H%M"),
        ),
    )
    source = L.Loop2000A(
        hl_segment=S.Loop2000AHlSegment(
            hierarchical_id_number="1", hierarchical_level_code="20", hierarchical_child_code="1"
        ),
        loop_2100a=L.Loop2100A(
            nm1_segment=S.Loop2100ANm1Segment(
                entity_identifier_code="PR",
                entity_type_qualifier="2",
                name_last_or_organization_name=inquiry.payer.name_last_or_organization_name,
                identification_code_qualifier="PI",
                identification_code=inquiry.payer.identification_code,
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
                        name_last_or_organization_name=inquiry.receiver.name_last_or_organization_name,
                        identification_code_qualifier="XX",
                        identification_code=inquiry.receiver.identification_code,
                    )
                ),
                loop_2000c=[loop_2000c],
            )
        ],
    )
    count = sum(_segments(part) for part in (header, source)) + 1
    footer = L.Footer(
        se_segment=SeSegment(transaction_segment_count=count, transaction_set_control_number=control_number)
    )
    body = "\n".join(part.x12() for part in (header, source, footer))
    # The transaction is written through write_transactions when it validates; a 271 carrying a reject
    # code x12sdk's model does not list (AAA 75) is enveloped by hand around the same segments.
    if found:
        from x12sdk.v5010.x12_271_005010X279A1.transaction_set import EligibilityBenefit

        transaction = EligibilityBenefit(header=header, loop_2000a=[source], footer=footer)
        return write_transactions(
            [transaction],
            sender_id="SANDBOXCH",
            receiver_id="PARITY",
            created=created,
            interchange_control_number=control_number,
        )
    return _envelope(body, created=created, control_number=control_number)


def _segments(part: X12SegmentGroup) -> int:
    return sum(1 for line in part.x12().splitlines() if line.strip())


def _envelope(body: str, *, created: datetime, control_number: str) -> str:
    from x12sdk.v5010.segments import GeSegment, GsSegment, IeaSegment, IsaSegment

    icn = control_number.zfill(9)
    isa = IsaSegment(
        authorization_information_qualifier="00",
        authorization_information=" " * 10,
        security_information_qualifier="00",
        security_information=" " * 10,
        interchange_sender_qualifier="30",
        interchange_sender_id="SANDBOXCH".ljust(15),
        interchange_receiver_qualifier="30",
        interchange_receiver_id="PARITY".ljust(15),
        interchange_date=created.strftime("%y%m%d"),
        interchange_time=created.strftime("%H%M"),
        repetition_separator="^",
        interchange_control_version_number="00501",
        interchange_control_number=icn,
        acknowledgment_requested="0",
        interchange_usage_indicator="T",
        component_element_separator=":",
    )
    gs = GsSegment(
        functional_identifier_code="HB",
        application_sender_code="SANDBOXCH",
        application_receiver_code="PARITY",
        functional_group_creation_date=created.strftime("%Y%m%d"),
        functional_group_creation_time=created.strftime("%H%M"),
        group_control_number="1",
        responsible_agency_code="X",
        version_identifier_code="005010X279A1",
    )
    ge = GeSegment(number_of_transaction_sets_included=1, group_control_number="1")
    iea = IeaSegment(number_of_included_functional_groups=1, interchange_control_number=icn)
    return "\n".join([isa.x12(), gs.x12(), body, ge.x12(), iea.x12()])
