"""What the deployment allows a campaign: the legal calling hours, the private networks a webhook may reach, and
the languages and voices its engine can run.

Both are the operator's settings, read once by the app and handed to every route that creates, changes or shows
a campaign (``campaign_rules``), so the API and the console judge a campaign by the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar.di import NamedDependency

from control_api.campaigns.calling_hours import CallingHours
from control_api.webhooks.destination import Network, parse_networks


@dataclass(frozen=True)
class CampaignRules:
    hours: CallingHours = field(default_factory=CallingHours)
    # CIDRs a webhook may reach although private (on-premise receivers, tests), as the operator wrote them: kept
    # as text because Litestar models an injected value's fields, and it cannot model ip_network objects.
    webhook_allowed_networks: str = ""
    # The engine's check of a script's language and voice (control_api.campaigns.scripts.SpeechCheck); None in an
    # app without an engine. Typed loosely for the same reason as above: Litestar cannot model a callable.
    speech_check: Any = None

    @property
    def webhook_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.webhook_allowed_networks)


Rules = NamedDependency[CampaignRules]
"""Marker of the ``campaign_rules`` parameter, provided by the app."""
