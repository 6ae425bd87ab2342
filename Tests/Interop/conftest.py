import os

import openai
import pytest

BASE_URL = os.environ.get("SWITCHYARD_URL", "http://127.0.0.1:8787")
GATEWAY_TOKEN = os.environ.get("INTEROP_GATEWAY_TOKEN", "gw-interop-token")

# The OpenAI-format tool every tool-calling interop test offers.
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}


def make_client(api_key="sk-client-own-key", gateway="default", **kwargs):
    """An official OpenAI SDK client whose base URL is the gateway's compat endpoint."""
    return openai.OpenAI(
        base_url=f"{BASE_URL}/v1/interop-account/{gateway}/compat",
        api_key=api_key,
        max_retries=0,
        timeout=30,
        **kwargs,
    )


@pytest.fixture
def client():
    return make_client()
