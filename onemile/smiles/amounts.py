"""What a smiles form sends, checked (no database): a number of smiles, and the form's
one-time key that makes a double submit give once. Projects and gifts share them."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import ngettext

from ..errors import RuleError

# A form's one-time key (secrets.token_urlsafe(16) is 22 characters).
FORM_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def checked_key(key: str | None) -> str:
    """The form's key, or a refusal when it is missing or malformed."""
    if not key or not FORM_KEY.match(key):
        raise RuleError(_("This form has expired: please try again."))
    return key


def smiles_count(amount, maximum: int) -> int:
    """The number typed in an amount field, as a whole number from 1 to `maximum`."""
    try:
        count = int(str(amount).strip())
    except (TypeError, ValueError):
        raise RuleError(_("Give a whole number of smiles."), "amount") from None
    if count < 1:
        raise RuleError(_("Give at least one smile."), "amount")
    if count > maximum:
        raise RuleError(_("At most %(n)d smiles at a time.", n=maximum), "amount")
    return count


def signed_smiles(count: int) -> str:
    """A number of smiles as members read it: "3 smiles", "−1 smile" (a true minus sign,
    as on the smiles page). Templates call it `smiles_amount`."""
    if count >= 0:
        return ngettext("%(num)d smile", "%(num)d smiles", count)
    return ngettext("−%(num)d smile", "−%(num)d smiles", -count)
