"""Entry-point module: cheap to import, it only names the model (imported on first use)."""

from ingrained_core.plugin import Contribution, hookimpl


@hookimpl
def ingrained_forward_models():
    return [
        Contribution(
            name="gaussian-lattice",
            target="ingrained_gaussian_lattice.model:GaussianLattice",
            description="square lattice of Gaussian spots (a toy model for plugin authors)",
        )
    ]
