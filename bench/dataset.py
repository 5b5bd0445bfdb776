"""Synthetic data: where listings are, who posted them, and the points the queries start from.

Everything is drawn from fixed seeds, so every backend and every run sees the same data,
and the query points are the same at every size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .towns import FRANCE_BOX, TOWNS

CLUSTERED_SHARE = 0.8  # the rest is scattered uniformly over metropolitan France
LISTINGS_PER_AUTHOR = 4
# Public points sit 150-300 m from the author's mile centre (the app's default band).
OFFSET_MIN_M, OFFSET_MAX_M = 150.0, 300.0
METRES_PER_DEGREE = 111_320.0
VIEWER_MILES = 5  # a member has at most 5 miles: one viewer per 5 query points

KINDS = np.array(["request", "offer"])
OFFER_TYPES = np.array(["give", "lend", "barter", "service"])
CATEGORIES = np.array(["carpooling", "diy", "repairs", "lessons", "leisure", "goods", "other"])
TITLES = np.array([
    "Perceuse à prêter", "Cours de guitare", "Covoiturage vers le marché", "Aide au déménagement",
    "Donne des livres", "Réparation de vélo", "Garde de plantes", "Soupe maison à partager",
    "Troc de graines", "Aide informatique", "Tondeuse disponible", "Cherche un escabeau",
    "Promenade du chien", "Couture et retouches", "Aide aux devoirs", "Jeux de société",
])
BODY = "Annonce de démonstration générée pour le banc d'essai. Merci de répondre dans la conversation."


def _spread_m(weight: float) -> float:
    """Standard deviation of a town's cluster: a few km, more for a large town."""
    return min(12_000.0, max(1_500.0, 2_000.0 * math.sqrt(weight / 100.0)))


def _town_arrays():
    lat = np.array([t[1] for t in TOWNS])
    lon = np.array([t[2] for t in TOWNS])
    weight = np.array([t[3] for t in TOWNS], dtype=float)
    spread = np.array([_spread_m(w) for w in weight])
    return lat, lon, weight / weight.sum(), spread


def clustered_points(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` points around the towns (Gaussian spread), as (lat, lon) arrays."""
    lat, lon, prob, spread = _town_arrays()
    town = rng.choice(len(lat), size=count, p=prob)
    north_m = rng.normal(0.0, 1.0, count) * spread[town]
    east_m = rng.normal(0.0, 1.0, count) * spread[town]
    out_lat = lat[town] + north_m / METRES_PER_DEGREE
    out_lon = lon[town] + east_m / (METRES_PER_DEGREE * np.cos(np.radians(out_lat)))
    return out_lat, out_lon


def scattered_points(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` points uniform over metropolitan France's bounding box."""
    south, west, north, east = FRANCE_BOX
    return rng.uniform(south, north, count), rng.uniform(west, east, count)


@dataclass
class Dataset:
    """N listings: their authors' mile centres and each listing's public point and fields."""

    size: int
    author_lat: np.ndarray
    author_lon: np.ndarray
    listing_author: np.ndarray  # index into the author arrays
    lat: np.ndarray
    lon: np.ndarray
    kind: np.ndarray
    offer_type: np.ndarray
    category: np.ndarray
    title: np.ndarray
    age_minutes: np.ndarray  # created this long before the load
    expires_in_minutes: np.ndarray  # open for this long after the load

    @property
    def author_count(self) -> int:
        return len(self.author_lat)


def generate(size: int, seed: int) -> Dataset:
    """Listings placed like real ones: authors live mostly in towns, each posts a few
    listings, shown at a public point 150-300 m from the author's mile centre."""
    rng = np.random.default_rng(seed)
    authors = max(1, size // LISTINGS_PER_AUTHOR)
    clustered = round(authors * CLUSTERED_SHARE)
    c_lat, c_lon = clustered_points(rng, clustered)
    s_lat, s_lon = scattered_points(rng, authors - clustered)
    author_lat, author_lon = np.concatenate([c_lat, s_lat]), np.concatenate([c_lon, s_lon])
    listing_author = rng.integers(0, authors, size)
    bearing = rng.uniform(0.0, 2 * math.pi, size)
    distance = np.sqrt(rng.uniform(OFFSET_MIN_M**2, OFFSET_MAX_M**2, size))
    lat = author_lat[listing_author] + distance * np.cos(bearing) / METRES_PER_DEGREE
    lon = author_lon[listing_author] + distance * np.sin(bearing) / (
        METRES_PER_DEGREE * np.cos(np.radians(lat))
    )
    kind = rng.choice(len(KINDS), size, p=[0.4, 0.6])
    return Dataset(
        size=size,
        author_lat=author_lat,
        author_lon=author_lon,
        listing_author=listing_author,
        lat=lat,
        lon=lon,
        kind=kind,
        offer_type=rng.integers(0, len(OFFER_TYPES), size),
        category=rng.integers(0, len(CATEGORIES), size),
        title=rng.integers(0, len(TITLES), size),
        age_minutes=rng.uniform(0, 29 * 24 * 60, size),
        expires_in_minutes=rng.uniform(24 * 60, 30 * 24 * 60, size),
    )


def query_points(count: int, seed: int) -> list[tuple[float, float]]:
    """Where members search from: random points near the towns, the same at every size."""
    rng = np.random.default_rng(seed + 1_000_003)
    lat, lon = clustered_points(rng, count)
    return [(round(float(a), 6), round(float(o), 6)) for a, o in zip(lat, lon)]
