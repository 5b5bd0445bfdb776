"""The demo's cast: who the demo members are, where they live (neighbourhoods and towns around
Mulhouse) and the other places they go, read from neighbourhood.toml. The people step
(onemile/auth/demo.py) signs them up; other steps (the ads) pick authors among them."""

from __future__ import annotations

from dataclasses import dataclass

from . import read

_PLACES = read("neighbourhood")
# Neighbourhoods and nearby towns: centre point and postal code (all within about 6 km of
# Mulhouse's centre), and other places people go to: work, school, their parents.
NEIGHBOURHOODS: dict[str, tuple[float, float, str]] = {
    name: tuple(value) for name, value in _PLACES["neighbourhoods"].items()
}
LANDMARKS: dict[str, tuple[float, float]] = {name: tuple(value) for name, value in _PLACES["landmarks"].items()}


@dataclass(frozen=True)
class DemoMember:
    """One demo member: who they are, where they live, and their other miles."""

    key: str
    first_name: str
    last_name: str
    kind: str
    home: str
    home_mile: str = "Maison"
    organisation: str | None = None
    extra_miles: tuple[tuple[str, str], ...] = ()
    email: str | None = None


MEMBERS: tuple[DemoMember, ...] = tuple(
    DemoMember(**{**spec, "extra_miles": tuple(tuple(mile) for mile in spec.get("extra_miles", ()))})
    for spec in _PLACES["members"]
)
