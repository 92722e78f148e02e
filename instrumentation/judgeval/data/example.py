"""``Example``: the fields a scorer looks at, e.g. a request and the agent's response."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Example(BaseModel):
    """One scored interaction. Subclass it with typed fields, or pass ad-hoc fields directly.

    ``class CustomerRequest(Example): request: str; response: str`` gives a typed example;
    ``Example(input="...", actual_output="...")`` works too, because extra fields are allowed. The
    example travels to hosted scorers as ``example.model_dump(mode="json")``.
    """

    model_config = ConfigDict(extra="allow")
