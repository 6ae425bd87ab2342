"""The official google-genai SDK against the gateway's native `/google-ai-studio` endpoint.
Skipped when the SDK is not installed (scripts/interop.sh does not install it)."""
import pytest

genai = pytest.importorskip("google.genai")
from google.genai import errors, types  # noqa: E402

from conftest import BASE_URL  # noqa: E402


@pytest.fixture
def client():
    return genai.Client(
        api_key="goog-client-key",
        http_options=types.HttpOptions(base_url=f"{BASE_URL}/google-ai-studio", api_version="v1beta", timeout=30_000),
    )


def test_generate_content(client):
    response = client.models.generate_content(model="gemini-2.5-flash", contents="hello native")
    assert response.text == "Echo: hello native"
    assert response.usage_metadata.candidates_token_count > 0


def test_generate_content_stream(client):
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="hello native"))
    assert "".join(c.text or "" for c in chunks) == "Echo: hello native"
    assert chunks[-1].usage_metadata.total_token_count > 0


def test_embed_content(client):
    result = client.models.embed_content(model="text-embedding-004", contents=["alpha", "beta"])
    assert len(result.embeddings) == 2 and result.embeddings[0].values != result.embeddings[1].values


def test_error_status(client):
    with pytest.raises(errors.APIError) as info:
        client.models.generate_content(
            model="gemini-2.5-flash", contents="x",
            config=types.GenerateContentConfig(http_options=types.HttpOptions(headers={"x-fake-status": "429"})),
        )
    assert info.value.code == 429
