"""Fixtures for channel tests: the shared HTTP client the evaluator would use."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from evaluator_service.alerts.channels import http_client


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with http_client() as c:
        yield c
