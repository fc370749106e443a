"""Reading 835 remittances from any payer with x12sdk, and what each claim payment means. Pure: no I/O.

Real-world files vary: several transactions per interchange, several CLPs per transaction, several SVCs per
claim, CAS at claim or line level with up to six reason/amount pairs each, groups CO/PR/OA/PI (and CR),
remark codes in MOA (claim) or LQ*HE (line), allowed amounts in AMT*B6 (line) or not at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from x12sdk.io import X12ModelReader

ZERO = Decimal("0.00")
CENT = Decimal("0.01")

# CLP02: 1/2/3 processed as primary/secondary/tertiary, 4 denied, 19/20/21 processed as primary/secondary/
# tertiary and forwarded, 22 reversal of a previous payment, 23 not our claim, forwarded.
PROCESSED = frozenset({"1", "2", "3", "19", "20", "21"})


class RemittanceUnreadable(ValueError):
    """The body is not an 835 we can read."""


@dataclass(frozen=True)
class AdjustmentLine:
    group_code: str
    reason_code: str
    amount: Decimal


@dataclass(frozen=True)
class ClaimPayment:
    control_number: str  # CLP01 = our CLM01
    status_code: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    allowed: Decimal
    payer_claim_control_number: str | None
    adjustments: tuple[AdjustmentLine, ...]
    remark_codes: tuple[str, ...]
    posting_key: str

    @property
    def carc_codes(self) -> list[str]:
        return sorted({a.reason_code for a in self.adjustments if a.group_code != "PR"})

    @property
    def outcome(self) -> Literal["paid", "partially_paid", "denied", "reversed", "forwarded"]:
        """What the payer did with the claim."""
        if self.status_code == "22":
            return "reversed"
        if self.status_code == "23":
            return "forwarded"
        if self.status_code == "4" or (self.paid == ZERO and self.patient_responsibility == ZERO):
            return "denied"
        payer_side = sum((a.amount for a in self.adjustments if a.group_code in ("OA", "PI")), ZERO)
        co_denials = [a for a in self.adjustments if a.group_code == "CO" and a.reason_code != "45"]
        if payer_side > ZERO or co_denials:
            return "partially_paid"
        return "paid"


def _cas_pairs(cas: Any) -> list[AdjustmentLine]:
    out = []
    for i in range(1, 7):
        reason = getattr(cas, f"adjustment_reason_code_{i}", None)
        amount = getattr(cas, f"monetary_amount_{i}", None)
        if reason and amount is not None:
            group = getattr(cas.adjustment_group_code, "value", cas.adjustment_group_code)
            out.append(AdjustmentLine(str(group), str(reason), Decimal(amount).quantize(CENT)))
    return out


def _claim_payment(claim: Any) -> ClaimPayment:
    clp = claim.clp_segment
    adjustments = [a for cas in claim.cas_segment or [] for a in _cas_pairs(cas)]
    remarks: list[str] = []
    if claim.moa_segment is not None:
        remarks += [
            getattr(claim.moa_segment, f"claim_payment_remark_code_{i}")
            for i in range(1, 6)
            if getattr(claim.moa_segment, f"claim_payment_remark_code_{i}", None)
        ]
    line_allowed: list[Decimal] = []
    for line in claim.loop_2110 or []:
        adjustments += [a for cas in line.cas_segment or [] for a in _cas_pairs(cas)]
        remarks += [
            lq.form_identifier
            for lq in line.lq_segment or []
            if str(getattr(lq.code_list_qualifier_code, "value", lq.code_list_qualifier_code)) == "HE"
        ]
        line_allowed += [
            amt.monetary_amount for amt in line.amt_segment or [] if amt.amount_qualifier_code == "B6"
        ]
    paid = Decimal(clp.claim_payment_amount).quantize(CENT)
    pr_from_cas = sum((a.amount for a in adjustments if a.group_code == "PR"), ZERO)
    patient = (
        Decimal(clp.patient_responsibility_amount).quantize(CENT)
        if clp.patient_responsibility_amount is not None
        else pr_from_cas
    )
    # Allowed = what the payer recognised: AMT*B6 when the payer sends it, else paid plus patient share.
    allowed = sum(line_allowed, ZERO).quantize(CENT) if line_allowed else paid + patient
    status = str(getattr(clp.claim_status_code, "value", clp.claim_status_code))
    return ClaimPayment(
        control_number=clp.patient_control_number,
        status_code=status,
        charge=Decimal(clp.total_claim_charge_amount).quantize(CENT),
        paid=paid,
        patient_responsibility=patient,
        allowed=allowed,
        payer_claim_control_number=clp.payer_claim_control_number,
        adjustments=tuple(adjustments),
        remark_codes=tuple(dict.fromkeys(remarks)),
        posting_key=hashlib.sha256(claim.x12().encode()).hexdigest(),
    )


def _drop_zero_cas_pairs(text: str) -> str:
    """Remove CAS reason/amount/quantity triplets whose amount is zero.

    Payers send them (CO-253 sequestration at 0.00, for one), and they move no money; x12sdk 2.2.0 rejects
    them because its CAS validator treats Decimal("0.00") as a missing amount.
    """
    if len(text) < 106:
        return text
    element, terminator = text[3], text[105]
    segments = text.split(terminator)
    for i, segment in enumerate(segments):
        fields = segment.strip().split(element)
        if fields[0] != "CAS" or len(fields) < 4:
            continue
        kept = [fields[0], fields[1]]
        for start in range(2, len(fields), 3):
            triplet = [*fields[start : start + 3], "", "", ""][:3]
            try:
                zero = triplet[0] != "" and Decimal(triplet[1]) == 0
            except ArithmeticError:
                zero = False
            if not zero and any(triplet):
                kept.extend(triplet)
        if len(kept) == 2:
            kept.extend(fields[2:5])  # a CAS with only zero pairs keeps its first so the segment stays valid
        while kept and kept[-1] == "":
            kept.pop()
        segments[i] = segment[: len(segment) - len(segment.lstrip())] + element.join(kept)
    return terminator.join(segments)


def read_835(text: str) -> list[ClaimPayment]:
    """Every claim payment in an 835 interchange, in file order."""
    text = text.strip()
    if not text.startswith("ISA"):
        raise RemittanceUnreadable("An 835 starts with an ISA segment.")
    text = _drop_zero_cas_pairs(text)
    out: list[ClaimPayment] = []
    try:
        with X12ModelReader(text) as reader:
            for model in reader.models():
                if not hasattr(model, "loop_2000") or not hasattr(model, "claims"):
                    raise RemittanceUnreadable("The interchange holds a transaction that is not an 835.")
                out.extend(_claim_payment(paid.claim) for paid in model.claims())
    except RemittanceUnreadable:
        raise
    except Exception as exc:  # x12sdk raises validation and parsing errors of many kinds
        raise RemittanceUnreadable(f"The 835 could not be parsed: {type(exc).__name__}") from exc
    return out
