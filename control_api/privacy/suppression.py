"""Whether a number erased on request must still never be called: the DND check asks this, by pseudonym.

Erasure removes the client's own suppression row (it held the number in clear); a withdrawal must outlive that,
so ``erased_subjects`` keeps the pseudonym with ``suppressed = true`` and the check consults it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from control_api.audit.pseudonym import pseudonymize_phone
from control_api.privacy import repository as repo


async def suppressed_after_erasure(session: AsyncSession, account_id: str, phone: int | str) -> bool:
    e164 = f"+{phone}" if isinstance(phone, int) else phone
    return await repo.erased_and_suppressed(session, account_id, pseudonymize_phone(e164))
