"""Root conftest: loads memgen's pytest plugins (claims machinery, fixtures that provide datasets and trained models)."""

pytest_plugins: list[str] = [
    "studies.claims.plugin",
    "fixtures.zoo",
    "fixtures.evaluation",
]
