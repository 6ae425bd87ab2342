"""The official Anthropic SDK, unchanged, against the gateway's native `/anthropic` endpoint."""
import anthropic
import pytest

from conftest import BASE_URL

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture(params=["short", "gateway"])
def client(request):
    base = f"{BASE_URL}/anthropic" if request.param == "short" else f"{BASE_URL}/v1/interop-account/default/anthropic"
    return anthropic.Anthropic(base_url=base, api_key="sk-ant-client-key", max_retries=0, timeout=30)


def test_messages_create(client):
    raw = client.messages.with_raw_response.create(
        model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "hello native"}]
    )
    message = raw.parse()
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].text == "Echo: hello native"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert raw.headers["cf-aig-provider"] == "anthropic"


def test_messages_create_stream_events(client):
    events = list(
        client.messages.create(model="claude-sonnet-4-5", max_tokens=64, stream=True, messages=[{"role": "user", "content": "hello native"}])
    )
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")
    assert text == "Echo: hello native"


def test_messages_stream_helper(client):
    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "hello native"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Echo: hello native"
    assert final.usage.output_tokens > 0


def test_messages_stream_tool_use(client):
    with client.messages.stream(
        model="claude-sonnet-4-5", max_tokens=64, tools=[WEATHER_TOOL], tool_choice={"type": "any"},
        messages=[{"role": "user", "content": "Weather in Paris?"}],
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    block = next(b for b in final.content if b.type == "tool_use")
    assert block.name == "get_weather" and block.input == {"city": "Paris"}


def test_errors_keep_anthropic_shape_and_status(client):
    with pytest.raises(anthropic.APIStatusError) as info:
        client.messages.create(
            model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "x"}],
            extra_headers={"x-fake-status": "529"},
        )
    assert info.value.status_code == 529
    assert info.value.body["error"]["type"] == "overloaded_error"
