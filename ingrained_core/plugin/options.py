"""``PluginOptions``: the base of every role's ``Options`` (a config section's own keys).

Every contribution that takes options from a config declares them as a pydantic model
named ``Options`` (forward models: ``[forward_model.options]``; optimizers:
``[optimizer.options]``; structure builders: ``Config``, the ``[structure]`` table).
The engine validates each section once against it, before anything is built, and an
unknown or invalid key gives one message naming the field and the closest known key;
the implementation then receives the validated values and checks nothing by hand.
Subclassing :class:`PluginOptions` gives ``extra="forbid"`` (unknown keys are errors).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class PluginOptions(BaseModel):
    """Base class of a contribution's ``Options``: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")
