"""Request bodies of the privacy routes (msgspec: unknown fields are refused, with the field named)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Contact = Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=10_000)]
Region = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}(-[a-z0-9]{1,5})?$")]
Days = Annotated[int, msgspec.Meta(ge=1, le=365)]


class SubjectCorrection(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType | None = msgspec.UNSET
    metadata: dict[str, Any] | msgspec.UnsetType | None = msgspec.UNSET


class GrievanceCreate(msgspec.Struct, forbid_unknown_fields=True):
    complainant_name: Name
    contact: Contact
    text: Text
    phone: Annotated[str, msgspec.Meta(min_length=3, max_length=32)] | None = None


class GrievanceUpdate(msgspec.Struct, forbid_unknown_fields=True):
    status: str | None = None
    resolution: Text | None = None


class PrivacySettingsUpdate(msgspec.Struct, forbid_unknown_fields=True):
    region: Region | msgspec.UnsetType = msgspec.UNSET
    content_retention_days: Days | msgspec.UnsetType | None = msgspec.UNSET
