"""An upload request's parameters, read the same way by the API's upload route and the console's."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from litestar import Request

from config.settings import Settings
from control_api.accounts.auth import client_ip
from control_api.leads.service import UploadParams
from control_api.streaming import check_content_length


def upload_params(
    request: Request[Any, Any, Any],
    *,
    no_minors_attested: bool,
    consent_source: str | None,
    consent_purpose: str | None,
    consent_at: datetime | None,
    default_content_type: str,
) -> UploadParams:
    """Refuses a declared body over the size limit before any of it is read (413)."""
    settings = cast(Settings, request.app.state.settings)
    check_content_length(request.headers.get("content-length"), settings.upload_max_bytes)
    return UploadParams(
        content_type=request.headers.get("content-type", default_content_type),
        no_minors_attested=no_minors_attested,
        consent_source=consent_source,
        consent_purpose=consent_purpose,
        consent_at=consent_at,
        client_ip=client_ip(request),
        max_bytes=settings.upload_max_bytes,
        data_dir=settings.data_dir,
    )
