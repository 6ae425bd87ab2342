"""The official OpenAI SDK against anthropic/* and google-ai-studio/* models: only `model` changes."""
import json

import openai
import pytest

from conftest import GATEWAY_TOKEN, WEATHER_TOOL, make_client

MODELS = ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", "google-ai-studio/gemini-2.5-flash", "workers-ai/@cf/meta/llama-3.1-8b-instruct"]
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello gateway"}]


@pytest.fixture
def stored():
    """The gateway token as the SDK's api key: the gateway uses its stored provider keys."""
    return make_client(api_key=GATEWAY_TOKEN)


@pytest.mark.parametrize("model", MODELS)
def test_same_answer(stored, model):
    raw = stored.chat.completions.with_raw_response.create(model=model, messages=MESSAGES)
    completion = raw.parse()
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "Echo: hello gateway"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.completion_tokens == 5
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + 5
    assert raw.headers["cf-aig-provider"] == model.split("/", 1)[0]


@pytest.mark.parametrize("model", MODELS)
def test_same_stream(stored, model):
    chunks = list(
        stored.chat.completions.create(model=model, messages=MESSAGES, stream=True, stream_options={"include_usage": True})
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: hello gateway"
    assert [c.choices[0].finish_reason for c in chunks if c.choices].count("stop") == 1
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 5
    assert all(c.usage is None for c in chunks[:-1])


@pytest.mark.parametrize("model", MODELS)
def test_streamed_tool_call_assembled_by_the_sdk(stored, model):
    with stored.chat.completions.stream(
        model=model,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER_TOOL],
        extra_headers={"x-fake-tool-call": "true", "x-fake-chunks": "5"},
    ) as stream:
        completion = stream.get_final_completion()
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.id
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris", "days": 1}


@pytest.mark.parametrize("model", MODELS[1:3])
def test_tool_result_round_trip(stored, model):
    first = stored.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Weather in Paris?"}], tools=[WEATHER_TOOL], tool_choice="required"
    )
    call = first.choices[0].message.tool_calls[0]
    second = stored.chat.completions.create(
        model=model,
        tools=[WEATHER_TOOL],
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
        ],
    )
    assert second.choices[0].finish_reason == "stop"
    # The fake echoes the tool result; for Gemini it echoes the function name, which the gateway
    # had to look up from the earlier call by tool_call_id.
    expected = "get_weather result" if model.startswith("google") else "sunny"
    assert expected in second.choices[0].message.content


@pytest.mark.parametrize("model,status,exception", [
    ("anthropic/claude-sonnet-4-5", 529, openai.InternalServerError),
    ("anthropic/claude-sonnet-4-5", 429, openai.RateLimitError),
    ("google-ai-studio/gemini-2.5-flash", 429, openai.RateLimitError),
    ("google-ai-studio/gemini-2.5-flash", 400, openai.BadRequestError),
])
def test_provider_errors_keep_their_status(stored, model, status, exception):
    with pytest.raises(exception) as info:
        stored.chat.completions.create(model=model, messages=MESSAGES, extra_headers={"x-fake-status": str(status)})
    assert info.value.status_code == status
    assert isinstance(info.value.body, dict) and info.value.body["message"]


def test_unsupported_parameter_is_a_400_naming_it(stored):
    with pytest.raises(openai.BadRequestError) as info:
        stored.chat.completions.create(model="anthropic/claude-sonnet-4-5", messages=MESSAGES, n=2)
    assert info.value.body["param"] == "n"
    assert info.value.body["code"] == "unsupported_value"


def test_mid_stream_error_is_raised_by_the_sdk(stored):
    stream = stored.chat.completions.create(
        model="anthropic/claude-sonnet-4-5", messages=MESSAGES, stream=True,
        extra_headers={"x-fake-reset": "mid-stream", "x-fake-reset-after-chunks": "3"},
    )
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass


@pytest.mark.parametrize("encoding", ["float", "base64"])
def test_gemini_embeddings(stored, encoding):
    result = stored.embeddings.create(model="google-ai-studio/text-embedding-004", input=["alpha", "beta"], encoding_format=encoding)
    assert [d.index for d in result.data] == [0, 1]
    if encoding == "float":
        assert all(isinstance(x, float) for x in result.data[0].embedding)
    assert len(result.data[0].embedding) > 0
    assert result.data[0].embedding != result.data[1].embedding
