"""The demo page's introduction says what the run trained, not a fixed text."""
from facereact.demo import intro


def test_intro_names_what_was_trained() -> None:
    default = intro(36, ("online",), baselines_online=True)
    assert "36-session" in default and "online Trans-VAE" in default
    assert "offline" not in default and "chose on the validation split" in default
    both = intro(12, ("online", "offline", "distilled"), baselines_online=False)
    assert "the offline generator" in both and "offline Trans-VAE" in both and "one-pass student" in both
