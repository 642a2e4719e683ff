"""``PluginOptions``: the base of every role's ``Options`` (a config section's own keys).

Every contribution that takes options from a config declares them as a pydantic model
named ``Options`` (forward models: ``[forward_model.options]``; optimizers:
``[optimizer.options]``; structure builders: ``Config``, the ``[structure]`` table).
The engine validates each section once against it, before anything is built, and an
unknown or invalid key gives one message naming the field and the closest known key;
the implementation then receives the validated values and checks nothing by hand.
Subclassing :class:`PluginOptions` gives ``extra="forbid"`` (unknown keys are errors) and
:meth:`PluginOptions.parse`, which a constructor uses to accept both the engine's
validated instance and plain keywords.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from ingrained_core.plugin.validation import validate_section

O = TypeVar("O", bound="PluginOptions")


class PluginOptions(BaseModel):
    """Base class of a contribution's ``Options``: unknown keys are refused, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def parse(cls: type[O], options: Any = None, where: str = "forward_model.options", **kwargs: Any) -> O:
        """Validated options from an instance (returned as is), a mapping, or keywords.

        A model's constructor takes ``options=`` (what the engine passes, validated once)
        and keywords (for use from Python): ``self.options = Options.parse(options, **kwargs)``.
        Errors are :class:`~ingrained_core.plugin.errors.ConfigError` naming the field and
        the closest known key.
        """
        if options is not None and kwargs:
            from ingrained_core.plugin.errors import ConfigError

            raise ConfigError(f"{where}: give either options= or keyword options, not both")
        return validate_section(cls, options if options is not None else kwargs, where)
