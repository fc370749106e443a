"""PDF renderings (fpdf2) of an invoice/superbill and of a Good Faith Estimate."""

from __future__ import annotations

from fpdf import FPDF

from pricing.documents.schemas import GoodFaithEstimate, Invoice


def _doc(title: str) -> FPDF:
    pdf = FPDF(format="Letter")
    pdf.set_creator("Parity")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    return pdf


def _row(pdf: FPDF, label: str, value: str) -> None:
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(60, 7, label)
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 7, value, new_x="LMARGIN", new_y="NEXT")


def invoice_pdf(inv: Invoice) -> bytes:
    pdf = _doc("Invoice / superbill")
    _row(pdf, "Invoice", str(inv.invoice_id))
    _row(pdf, "Issued", inv.issued_at.date().isoformat())
    p = inv.provider
    _row(pdf, "Provider", p.name if p else "Provider details unavailable - ask us for a complete copy")
    _row(pdf, "Provider NPI", p.npi if p else "unavailable")
    _row(pdf, "Date of service", inv.date_of_service.isoformat())
    _row(pdf, "Place of service", inv.place_of_service or "unavailable")
    _row(pdf, "CPT code", inv.cpt_code)
    _row(pdf, "ICD-10-CM codes", ", ".join(inv.icd10_codes) if inv.icd10_codes else "unavailable")
    _row(pdf, "Allowed amount", f"${inv.allowed_amount:.2f}")
    _row(pdf, "Client responsibility", f"${inv.client_amount:.2f}")
    _row(pdf, "Amount paid", f"${inv.amount_paid:.2f}")
    _row(pdf, "Balance", f"${inv.balance:.2f}")
    return bytes(pdf.output())


def estimate_pdf(gfe: GoodFaithEstimate) -> bytes:
    pdf = _doc("Good Faith Estimate")
    pdf.multi_cell(
        0,
        6,
        "You have the right to receive a Good Faith Estimate explaining how much your medical care will "
        "cost (No Surprises Act). If you are billed for more than this estimate, you can dispute the bill.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    _row(pdf, "Estimate", str(gfe.estimate_id))
    _row(
        pdf,
        "Service",
        f"CPT {gfe.cpt_code}, {gfe.session_count} session(s) from {gfe.first_date.isoformat()}",
    )
    _row(pdf, "Self-pay rate", f"${gfe.unit_rate:.2f} per session")
    _row(pdf, "Expected total", f"${gfe.total:.2f}")
    return bytes(pdf.output())
