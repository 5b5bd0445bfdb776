"""Where a form may send the browser next: local paths only."""


def local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None, so that a crafted link cannot
    bounce a member to another site.

    Browsers drop tabs and newlines from URLs (a tab between two slashes turns "/\\t/evil.example"
    into "//evil.example") and read backslashes as slashes: refuse all of them.
    """
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
        and not any(ch.isspace() for ch in target)
    ):
        return target
    return None
