"""A production relay wants credentials: the user and password in SMTP_URL are used to log in (refused
credentials are classified as transient in test_rules). Also: every outcome is counted in
parity_emails_total for ops."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from contracts.events import CobRecertificationDue
from kit.clock import ControllableClock
from kit.testing.helpers import running_app
from kit.testing.plugin import SettingsFactory
from notifications.main import create_app
from tests.notifications.conftest import START, Harness, Smtp, StandIns, notifications_settings

# The test relay has no certificate, so it offers AUTH without TLS; aiosmtpd warns about exactly that.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def _authenticator(server: SMTP, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"mailer", b"s3cret")
    return AuthResult(success=ok)


class AuthSmtp(Smtp):
    def start(self) -> None:
        self._controller = Controller(
            self.mailbox,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=_authenticator,
            auth_required=True,
            auth_exclude_mechanism=["LOGIN"],
            auth_require_tls=False,  # a test relay without a certificate; production uses STARTTLS
        )
        self._controller.start()


@pytest.fixture
def auth_smtp() -> Iterator[AuthSmtp]:
    server = AuthSmtp()
    server.start()
    yield server
    server.stop()


async def _harness(make_settings: SettingsFactory, smtp: AuthSmtp, stand_ins: StandIns, password: str) -> Any:
    settings = notifications_settings(make_settings, smtp, stand_ins)
    settings.smtp_url = f"smtp://mailer:{password}@127.0.0.1:{smtp.port}"
    clock = ControllableClock(START)
    return create_app(settings, clock=clock), clock


async def test_credentials_in_the_smtp_url_log_in_to_the_relay(
    make_settings: SettingsFactory, auth_smtp: AuthSmtp, stand_ins: StandIns
) -> None:
    app, clock = await _harness(make_settings, auth_smtp, stand_ins, "s3cret")
    client_id, address = stand_ins.client()
    async with running_app(app) as http:
        notif = Harness(http, app.state.runtime, clock, auth_smtp, stand_ins)
        await notif.deliver(
            CobRecertificationDue(coverage_id=uuid.uuid4(), client_id=client_id, due_date=START.date())
        )
        await notif.send()
    assert len(auth_smtp.to(address)) == 1


def _count(metrics: str, status: str) -> float:
    prefix = f'parity_emails_total{{status="{status}"}} '
    return sum(float(line[len(prefix) :]) for line in metrics.splitlines() if line.startswith(prefix))


async def test_every_outcome_is_counted_in_parity_emails_total(notif: Harness) -> None:
    before = (await notif.client.get("/metrics")).text
    sent_id, _ = notif.stand_ins.client()
    bad_id, bad_address = notif.stand_ins.client()
    notif.smtp.mailbox.reject.add(bad_address)
    for client_id in (sent_id, bad_id):
        await notif.deliver(
            CobRecertificationDue(coverage_id=uuid.uuid4(), client_id=client_id, due_date=START.date())
        )
    await notif.send()
    after = (await notif.client.get("/metrics")).text
    assert _count(after, "sent") - _count(before, "sent") == 1
    assert _count(after, "failed") - _count(before, "failed") == 1
