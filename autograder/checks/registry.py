"""Every graded function's check, by name: each assignment's module registers its own."""

REGISTRY = {}
HINT = "\n    Hint: "  # what separates a check's message from its hint
# What separates a check's message from a remark about the whole check (e.g. which forward pass a
# backward check used): the report says each remark once, not on every case.
REMARK = "\n    Note: "


def register(*checks):
    """Add checks to the registry (names must be unique)."""
    for spec in checks:
        if spec.name in REGISTRY:
            raise ValueError(f"duplicate check {spec.name!r}")
        REGISTRY[spec.name] = spec
    return checks
