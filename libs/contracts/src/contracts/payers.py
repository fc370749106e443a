"""The payer catalogue: reference data every service agrees on (plan ids travel in events as `payer_id`).

For Blue Cross Blue Shield plans, `home_states` is the plan's service area and `member_id_prefixes` the
three-letter prefixes on its member ids. Eligibility serves this at `GET /v1/payers`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class Payer(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    kind: Literal["commercial", "bcbs"]
    x12_payer_id: str
    home_states: tuple[str, ...] = ()
    member_id_prefixes: tuple[str, ...] = ()
    phone: str = ""


CATALOGUE: tuple[Payer, ...] = (
    Payer(id="aetna", name="Aetna", kind="commercial", x12_payer_id="60054", phone="1-800-872-3862"),
    Payer(id="cigna", name="Cigna", kind="commercial", x12_payer_id="62308", phone="1-800-244-6224"),
    Payer(id="uhc", name="UnitedHealthcare", kind="commercial", x12_payer_id="87726", phone="1-866-633-2446"),
    Payer(
        id="bcbs-nc",
        name="Blue Cross and Blue Shield of North Carolina",
        kind="bcbs",
        x12_payer_id="10383",
        home_states=("NC",),
        member_id_prefixes=("YPB", "NCB"),
        phone="1-800-446-8053",
    ),
    Payer(
        id="anthem-bcbs-ny",
        name="Anthem Blue Cross and Blue Shield (New York)",
        kind="bcbs",
        x12_payer_id="00803",
        home_states=("NY",),
        member_id_prefixes=("YLS", "NYA"),
        phone="1-800-342-9816",
    ),
    Payer(
        id="bcbs-ma",
        name="Blue Cross Blue Shield of Massachusetts",
        kind="bcbs",
        x12_payer_id="00700",
        home_states=("MA",),
        member_id_prefixes=("XXB", "MAB"),
        phone="1-800-262-2583",
    ),
    Payer(
        id="bcbs-tx",
        name="Blue Cross and Blue Shield of Texas",
        kind="bcbs",
        x12_payer_id="84980",
        home_states=("TX",),
        member_id_prefixes=("ZGD", "TXB"),
        phone="1-800-521-2227",
    ),
    Payer(
        id="anthem-bc-ca",
        name="Anthem Blue Cross (California)",
        kind="bcbs",
        x12_payer_id="47198",
        home_states=("CA",),
        member_id_prefixes=("XEA", "CAB"),
        phone="1-800-677-6669",
    ),
    Payer(
        id="bcbs-il",
        name="Blue Cross and Blue Shield of Illinois",
        kind="bcbs",
        x12_payer_id="00621",
        home_states=("IL",),
        member_id_prefixes=("XOF", "ILB"),
        phone="1-800-654-7385",
    ),
    Payer(
        id="florida-blue",
        name="Florida Blue",
        kind="bcbs",
        x12_payer_id="00590",
        home_states=("FL",),
        member_id_prefixes=("FLB", "XJF"),
        phone="1-800-352-2583",
    ),
)

BY_ID: dict[str, Payer] = {p.id: p for p in CATALOGUE}


def payer(payer_id: str) -> Payer | None:
    return BY_ID.get(payer_id)


def local_bcbs_plan(state: str) -> Payer | None:
    """The BCBS plan whose service area includes `state` (BlueCard's "local plan")."""
    return next((p for p in CATALOGUE if p.kind == "bcbs" and state in p.home_states), None)
