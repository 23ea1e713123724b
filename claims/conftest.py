"""Claims whose protocol the active profile does not have (Fashion-MNIST has no identities, smoke
has no Footwear attribute, a user's array may have no labels at all) end as *not applicable*, with
the reason, before any model is trained for them."""

import pytest


@pytest.fixture(autouse=True)
def _protocol_applicable(request: pytest.FixtureRequest) -> None:
    callspec = getattr(request.node, "callspec", None)
    if callspec is None or request.node.get_closest_marker("claim") is None:
        return
    protocol = callspec.params.get("protocol")
    if not isinstance(protocol, str) or "source" in callspec.params:  # split-integrity decides itself
        return
    from studies.claims.core import absent_protocol_reason, parse_case

    profile = request.getfixturevalue("profile")
    protocol, control = parse_case(protocol)
    if control:
        # the known-answer controls check the measurement pipeline, which is one code for every
        # profile; they are registered (predicted) and run on the embedded default only, where they cost
        # seconds (a memorising control at Fashion-MNIST's N=18,000 would cost minutes of CI)
        if profile.name != "smoke":
            request.getfixturevalue("claim").not_applicable(
                f"the known-answer control {control!r} runs on the smoke profile (the same measurement code); "
                f"run it with --profile smoke")
        return
    reason = absent_protocol_reason(profile, protocol)
    if reason is not None:
        request.getfixturevalue("claim").not_applicable(reason)
