"""Amounts between FreshBooks (decimal strings) and GoCardless (integer minor units), never floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

# Every currency GoCardless collects in has two decimal places (vendors doc §2.3, trap 14).
CURRENCIES = frozenset({"AUD", "CAD", "DKK", "EUR", "GBP", "NZD", "SEK", "USD"})
EXPONENT = 2
# The currency each scheme collects in: a mandate names its scheme, not a currency.
SCHEME_CURRENCIES = {
    "ach": "USD",
    "autogiro": "SEK",
    "bacs": "GBP",
    "faster_payments": "GBP",
    "becs": "AUD",
    "becs_nz": "NZD",
    "betalingsservice": "DKK",
    "pad": "CAD",
    "pay_to": "AUD",
    "sepa_core": "EUR",
    "sepa_cor1": "EUR",
}


class BadAmount(ValueError):
    pass


def to_minor(amount: Decimal | str, currency: str) -> int:
    """ "12.34" -> 1234; refuses what cannot be collected exactly."""
    if currency not in CURRENCIES:
        raise BadAmount(f"GoCardless does not collect in {currency or 'an unnamed currency'}")
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise BadAmount(f"{amount!r} is not an amount") from None
    if not value.is_finite() or value <= 0:
        raise BadAmount(f"{amount} is not a positive amount")
    minor = value.scaleb(EXPONENT)
    if minor != minor.to_integral_value():
        raise BadAmount(f"{amount} {currency} has more than {EXPONENT} decimal places")
    return int(minor)


def from_minor(minor: int | str | Decimal | None) -> Decimal:
    return (Decimal(str(minor or 0)).scaleb(-EXPONENT)).quantize(Decimal("0.01"))
