"""Demo data (placeholder, replaced below)."""


def load_demo() -> dict:
    return {}
