"""Entry-point module of ingrained_abtem: names the model; never imports abtem."""

from ingrained_core.plugin import Contribution, hookimpl


@hookimpl
def ingrained_forward_models() -> list[Contribution]:
    return [
        Contribution(
            name="haadf-multislice",
            target="ingrained_abtem.model:HaadfMultislice",
            description="multislice HAADF STEM (abTEM); same image-side parameters as 'haadf'",
            requires=("abtem",),
            install_hint="pip install abtem  (or: pip install -e plugins/ingrained_abtem)",
        )
    ]
