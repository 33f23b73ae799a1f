from agentbus_activity.models import metadata
from agentbus_shared.migrations import run_env

run_env(metadata)
