import pytest

from tta.agent_orchestration.adapters import (
    AdapterError,
    AnthropicAdapter,
    Message,
    OpenAIAdapter,
    ProviderAdapter,
    RetryPolicy,
    adapter_for,
)

CONVERSATION = [
    Message("system", "You are the narrator of a gentle adventure."),
    Message("user", "I open the door."),
    Message("assistant", "A warm light spills into the hall."),
    Message("user", "I step inside."),
]


def test_message_rejects_unknown_role_and_blank_content():
    with pytest.raises(AdapterError, match="unknown role"):
        Message("tool", "hi")
    with pytest.raises(AdapterError, match="empty user message"):
        Message("user", "   ")


def test_retry_policy_backoff_is_capped_and_computed():
    policy = RetryPolicy(max_attempts=6, base_delay=1.0, factor=3.0, max_delay=10.0)
    assert policy.schedule() == [1.0, 3.0, 9.0, 10.0, 10.0]
    with pytest.raises(ValueError):
        policy.delay(-1)


@pytest.mark.parametrize(
    ("attempt", "status", "expected"),
    [(0, 429, True), (1, 503, True), (2, 503, False), (0, 400, False)],
)
def test_retry_policy_should_retry(attempt, status, expected):
    assert RetryPolicy(max_attempts=3).should_retry(attempt, status) is expected


def test_adapter_checks_its_settings():
    with pytest.raises(AdapterError, match="model"):
        OpenAIAdapter("")
    with pytest.raises(AdapterError, match="max_tokens"):
        OpenAIAdapter("gpt", max_tokens=0)


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        ([], "empty"),
        ([Message("system", "a"), Message("system", "b"), Message("user", "c")], "at most one"),
        ([Message("user", "a"), Message("system", "b"), Message("user", "c")], "first"),
        ([Message("user", "a"), Message("assistant", "b")], "last message"),
    ],
)
def test_validate_rejects_malformed_conversations(messages, problem):
    with pytest.raises(AdapterError, match=problem):
        OpenAIAdapter("gpt").to_request(messages)


def test_base_adapter_leaves_rendering_to_subclasses():
    base = ProviderAdapter("any")
    with pytest.raises(NotImplementedError):
        base.to_request([Message("user", "hi")])
    with pytest.raises(NotImplementedError):
        base.parse_reply({})


def test_openai_request_keeps_system_message_inline():
    body = OpenAIAdapter("gpt-4o-mini", max_tokens=256).to_request(CONVERSATION)
    assert body["model"] == "gpt-4o-mini"
    assert body["max_tokens"] == 256
    assert body["messages"][0] == {"role": "system", "content": CONVERSATION[0].content}
    assert len(body["messages"]) == 4


def test_openai_reply_parsing():
    adapter = OpenAIAdapter("gpt")
    reply = {"choices": [{"message": {"role": "assistant", "content": "You see a lantern."}}]}
    assert adapter.parse_reply(reply) == Message("assistant", "You see a lantern.")
    with pytest.raises(AdapterError, match="no choices"):
        adapter.parse_reply({"choices": []})
    with pytest.raises(AdapterError, match="no text"):
        adapter.parse_reply({"choices": [{"message": {"content": None}}]})


def test_anthropic_request_splits_out_the_system_prompt():
    body = AnthropicAdapter("claude").to_request(CONVERSATION)
    assert body["system"] == CONVERSATION[0].content
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]


def test_anthropic_request_without_system_prompt():
    body = AnthropicAdapter("claude").to_request([Message("user", "hello")])
    assert "system" not in body
    assert body["messages"] == [{"role": "user", "content": "hello"}]


def test_anthropic_reply_joins_text_blocks():
    adapter = AnthropicAdapter("claude")
    reply = {
        "content": [
            {"type": "text", "text": "The lantern "},
            {"type": "tool_use", "name": "roll"},
            {"type": "text", "text": "flickers."},
        ]
    }
    assert adapter.parse_reply(reply).content == "The lantern flickers."
    with pytest.raises(AdapterError, match="no text blocks"):
        adapter.parse_reply({"content": []})


def test_adapter_for_looks_up_providers_case_insensitively():
    adapter = adapter_for("Anthropic", "claude", max_tokens=64)
    assert isinstance(adapter, AnthropicAdapter)
    assert adapter.max_tokens == 64
    with pytest.raises(AdapterError, match="known: anthropic, openai"):
        adapter_for("palm", "bison")
