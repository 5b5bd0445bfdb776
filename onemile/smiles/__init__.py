"""Smiles: the exchange voucher, kept in a double-entry ledger."""

from flask import Blueprint

from ..web import header_value

# No prefix: the ledger pages live under /smiles/, referral links under /join/<code>.
bp = Blueprint("smiles", __name__)

from . import (
    amounts,
    member_data,
    routes,  # noqa: F401
    services,
)


def setup(app) -> None:
    """Plug the feature into the app (create_app calls every feature's setup):
    its blueprint, its part of the data download and of account deletion."""
    app.register_blueprint(bp)
    header_value(app, "smiles_balance", services.balance_of)
    app.add_template_global(amounts.signed_smiles, "smiles_amount")
    member_data.connect()
