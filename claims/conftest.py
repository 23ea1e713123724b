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
    from studies.claims.core import CONTROLS_PROFILE, OWN_DATA_CONTROLS, absent_protocol_reason, parse_case

    profile = request.getfixturevalue("profile")
    protocol, control = parse_case(protocol)
    if control:
        request.getfixturevalue("claim").control(control)  # a control in the report even when it cannot run here
        # the known-answer controls check the measurement pipeline, which is one code for every
        # profile; they are registered (predicted) and run on the embedded default only, where they cost
        # seconds (a memorising control at Fashion-MNIST's N=18,000 would cost minutes of CI)
        if profile.name != CONTROLS_PROFILE:
            _end_not_applicable(request, f"the known-answer control {control!r} runs on the {CONTROLS_PROFILE} profile (the same "
                                         f"measurement code); run it with --profile {CONTROLS_PROFILE}")
            return
        if protocol in OWN_DATA_CONTROLS:  # the Gaussian controls bring their own images
            return
    reason = absent_protocol_reason(profile, protocol)
    if reason is not None:
        _end_not_applicable(request, reason)


def _end_not_applicable(request: pytest.FixtureRequest, reason: str) -> None:
    """The test body is replaced by ``claim.not_applicable(reason)``: it ends in the call phase, where the
    claims plugin turns it into the status "not applicable" (a fixture cannot end a test as passed)."""
    claim = request.getfixturevalue("claim")

    def not_applicable(*args, **kwargs) -> None:
        claim.not_applicable(reason)

    request.node.obj = not_applicable
