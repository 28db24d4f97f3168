"""Imports every module that defines tables, so ``Base.metadata`` is complete for Alembic and for tests.

Each feature defines its tables in its own ``tables`` module on the one ``Base``, and migrates them on its own
Alembic revision branch; a new tables module gets one import line here.
"""

from __future__ import annotations

from control_api.accounts import tables as _accounts  # noqa: F401
from control_api.audit import tables as _audit  # noqa: F401
from control_api.calls import tables as _calls  # noqa: F401
from control_api.campaigns import tables as _campaigns  # noqa: F401
from control_api.credits import tables as _credits  # noqa: F401
from control_api.dispatch import tables as _dispatch  # noqa: F401
from control_api.dnd import tables as _dnd  # noqa: F401
from control_api.leads import tables as _leads  # noqa: F401
from control_api.limits import tables as _limits  # noqa: F401
from control_api.privacy import tables as _privacy  # noqa: F401
from control_api.webhooks import tables as _webhooks  # noqa: F401
