"""After every story above has run (this module is collected last), the logs of every process - gateway,
services, sandboxes - hold none of the names, e-mail addresses, member ids or bearer tokens the stories used."""

from __future__ import annotations

from tests.e2e.conftest import System


def test_no_personal_data_or_tokens_in_any_log(system: System) -> None:
    logs = system.logs()
    assert len(system.secrets) > 20, "the stories ran and registered what they sent"
    assert logs, "the processes wrote logs"
    leaked = sorted(s for s in system.secrets if s in logs)
    assert leaked == [], f"{len(leaked)} secrets found in the logs, e.g. {leaked[:1]}"
