"""Every table of schema ``auth`` in one metadata, for the migrations and their drift test."""

from agentbus_auth.accounts import models as _accounts
from agentbus_auth.audit import models as _audit
from agentbus_auth.codes import models as _codes
from agentbus_auth.keys import models as _keys
from agentbus_auth.mfa import models as _mfa
from agentbus_auth.models import metadata
from agentbus_auth.operators import models as _operators
from agentbus_auth.service_accounts import models as _service_accounts
from agentbus_auth.sessions import models as _sessions
from agentbus_auth.tenants import models as _tenants

TABLE_MODULES = (
    _accounts,
    _audit,
    _codes,
    _keys,
    _mfa,
    _operators,
    _service_accounts,
    _sessions,
    _tenants,
)

__all__ = ["TABLE_MODULES", "metadata"]
