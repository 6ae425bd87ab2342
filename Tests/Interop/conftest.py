import os

import openai
import pytest

BASE_URL = os.environ.get("SWITCHYARD_URL", "http://127.0.0.1:8787")
GATEWAY_TOKEN = os.environ.get("INTEROP_GATEWAY_TOKEN", "gw-interop-token")


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
