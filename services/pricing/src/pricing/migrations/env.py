from kit.migrations import run_env
from pricing.models import Base

run_env(Base.metadata)
