"""Projects of general interest: proposed by members, approved by moderators, supported
with money pledges, smiles and skills."""

from flask import Blueprint

bp = Blueprint("projects", __name__, url_prefix="/projects")

from . import reportables, routes  # noqa: F401
