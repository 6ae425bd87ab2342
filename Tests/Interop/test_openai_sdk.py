"""The official OpenAI Python SDK against `switchyard serve`, with fake-upstream as the provider."""
import json

import httpx
import openai
import pytest

from conftest import BASE_URL, GATEWAY_TOKEN, WEATHER_TOOL, make_client

MESSAGES = [{"role": "user", "content": "hello gateway"}]


def test_chat_completion(client):
    raw = client.chat.completions.with_raw_response.create(model="openai/gpt-4o-mini", messages=MESSAGES)
    completion = raw.parse()
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.role == "assistant"
    assert "hello gateway" in completion.choices[0].message.content
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens > 0
    assert raw.headers["cf-aig-provider"] == "openai"
    assert raw.headers["cf-aig-model"] == "gpt-4o-mini"
    assert raw.headers["cf-aig-step"] == "0"
    assert len(raw.headers["cf-aig-log-id"]) == 36


def test_streaming_without_usage_request_gets_no_usage_chunk(client):
    stream = client.chat.completions.create(model="groq/llama-3.3-70b", messages=MESSAGES, stream=True)
    chunks = list(stream)
    assert chunks, "no chunks"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "hello gateway" in text
    # The gateway asked upstream for usage for itself; the client did not, so it must not see it.
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)
    assert [c.choices[0].finish_reason for c in chunks].count("stop") == 1


def test_streaming_with_include_usage(client):
    stream = client.chat.completions.create(
        model="openai/gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None and last.usage.total_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])


def test_streamed_tool_call_assembles_into_valid_json(client):
    with client.chat.completions.stream(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER_TOOL],
        extra_headers={"x-fake-tool-call": "true"},
    ) as stream:
        completion = stream.get_final_completion()
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert isinstance(json.loads(call.function.arguments), dict)


def test_non_streamed_tool_call(client):
    completion = client.chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER_TOOL],
        extra_headers={"x-fake-tool-call": "true"},
    )
    call = completion.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert isinstance(json.loads(call.function.arguments), dict)


@pytest.mark.parametrize("status,exception", [(429, openai.RateLimitError), (500, openai.InternalServerError), (400, openai.BadRequestError)])
def test_provider_error_surfaces_with_its_status(client, status, exception):
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=MESSAGES, extra_headers={"x-fake-status": str(status)}
        )
    assert info.value.status_code == status
    assert isinstance(info.value, exception)
    # OpenAI's error shape: the SDK unwraps `error` into `body`.
    assert isinstance(info.value.body, dict) and "message" in info.value.body and "type" in info.value.body


def test_provider_error_while_streaming(client):
    with pytest.raises(openai.APIStatusError) as info:
        list(client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers={"x-fake-status": "503"}
        ))
    assert info.value.status_code == 503


def test_models_list(client):
    ids = [m.id for m in client.models.list()]
    assert any(i.startswith("openai/") for i in ids)
    assert any(i.startswith("groq/") for i in ids)


def test_embeddings(client):
    result = client.embeddings.create(model="openai/text-embedding-3-small", input=["alpha", "beta"])
    assert [d.index for d in result.data] == [0, 1]
    assert len(result.data[0].embedding) > 0


def test_gateway_token_as_api_key_uses_the_stored_key():
    locked = make_client(api_key=GATEWAY_TOKEN, gateway="locked")
    completion = locked.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)
    assert "hello gateway" in completion.choices[0].message.content


def test_locked_gateway_rejects_other_keys():
    with pytest.raises(openai.AuthenticationError) as info:
        make_client(api_key="not-the-token", gateway="locked").chat.completions.create(
            model="openai/gpt-4o-mini", messages=MESSAGES
        )
    assert info.value.status_code == 401


def test_gateway_errors_use_cloudflares_envelope():
    response = httpx.post(f"{BASE_URL}/compat/chat/completions", json={"model": "nope/x", "messages": []})
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and body["name"] == "AiGatewayError"
    assert body["internalCode"] == 2008 and body["error"][0]["code"] == 2008


def test_unknown_route_is_404(client):
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="dynamic/no-such-route", messages=MESSAGES)


def test_passthrough_native_openai_path():
    response = httpx.post(
        f"{BASE_URL}/openai/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": MESSAGES},
    )
    assert response.status_code == 200
    assert "hello gateway" in response.json()["choices"][0]["message"]["content"]
    assert response.headers["cf-aig-provider"] == "openai"


def test_dynamic_route(client):
    raw = client.chat.completions.with_raw_response.create(model="dynamic/fallback-chain", messages=MESSAGES)
    assert "hello gateway" in raw.parse().choices[0].message.content
    assert raw.headers["x-switchyard-route"].startswith("fallback-chain@")
    assert raw.headers["x-switchyard-path"] == "primary"
    assert raw.headers["cf-aig-provider"] == "openai"


def test_dynamic_route_falls_back_through_every_provider(client):
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(
            model="dynamic/fallback-chain", messages=MESSAGES, extra_headers={"x-fake-status": "503"}
        )
    assert info.value.status_code == 503
    assert info.value.response.headers["x-switchyard-path"] == "primary>secondary>last-resort"
