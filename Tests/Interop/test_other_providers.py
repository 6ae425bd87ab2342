"""Providers with their own wire formats: through the compat endpoint with the OpenAI SDK, and
natively through passthrough with the Anthropic SDK."""
import anthropic
import pytest

from conftest import BASE_URL

MESSAGES = [{"role": "user", "content": "hello gateway"}]


@pytest.mark.parametrize("model", ["anthropic/claude-sonnet-4-5", "google-ai-studio/gemini-2.5-flash"])
def test_openai_sdk_reaches_translated_providers(client, model):
    completion = client.chat.completions.create(model=model, messages=MESSAGES)
    assert "hello gateway" in completion.choices[0].message.content
    chunks = list(client.chat.completions.create(
        model=model, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    ))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "hello gateway" in text
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


def test_anthropic_sdk_through_passthrough():
    sdk = anthropic.Anthropic(base_url=f"{BASE_URL}/v1/interop-account/default/anthropic", api_key="sk-ant-client", max_retries=0)
    message = sdk.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES)
    assert "hello gateway" in message.content[0].text
    with sdk.messages.stream(model="claude-sonnet-4-5", max_tokens=64, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
    assert "hello gateway" in text
