"""Smiles: the exchange voucher, kept in a double-entry ledger."""

from flask import Blueprint

# No prefix: the ledger pages live under /smiles/, referral links under /join/<code>.
bp = Blueprint("smiles", __name__)

from . import routes  # noqa: F401


def setup(app) -> None:
    """Plug the feature into the app (create_app calls every feature's setup):
    its blueprint, its part of the data download and of account deletion."""
    from . import member_data

    app.register_blueprint(bp)
    member_data.connect()
