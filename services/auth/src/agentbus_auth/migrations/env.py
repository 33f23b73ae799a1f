from agentbus_auth.schema import metadata
from agentbus_shared.migrations import run_env

run_env(metadata)
