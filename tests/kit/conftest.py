from tests.kit.demo import demo_db

__all__ = ["demo_db"]
