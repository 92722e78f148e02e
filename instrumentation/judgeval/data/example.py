"""``Example``: the fields a scorer looks at, e.g. a request and the agent's response."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, PrivateAttr

if TYPE_CHECKING:
    from judgeval.protocol.interaction_record import InteractionRecord


class Example(BaseModel):
    """One scored interaction. Subclass it with typed fields, or pass ad-hoc fields directly.

    ``class CustomerRequest(Example): request: str; response: str`` gives a typed example;
    ``Example(input="...", actual_output="...")`` works too, because extra fields are allowed. The
    example travels to hosted scorers as ``example.model_dump(mode="json")``.
    """

    model_config = ConfigDict(extra="allow")
    _interaction: InteractionRecord | None = PrivateAttr(default=None)

    @property
    def interaction(self) -> InteractionRecord | None:
        """For an example pulled from a dataset (``judgeval.dataset.Dataset``): the stored record it was
        built from (the production score, reason, scorer, trace and span ids); else ``None``. Not a field:
        never part of ``model_dump``."""
        return self._interaction
