from tests.faults.procs import launch
from tests.kit.demo import demo_db

__all__ = ["demo_db", "launch"]
