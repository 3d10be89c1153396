"""Translate chat conversations between LLM provider formats.

Providers disagree on the shape of a conversation: OpenAI-style APIs take one flat list of
``{"role", "content"}`` dicts, Anthropic-style APIs take the system prompt as a separate field and
the reply as a list of content blocks. The adapters here turn one provider-neutral list of
:class:`Message` objects into each request format, parse each reply format back, and compute retry
delays for transient failures (the caller does the sleeping, so nothing here blocks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Roles a provider-neutral message may have.
VALID_ROLES = frozenset({"system", "user", "assistant"})


class AdapterError(ValueError):
    """A conversation or reply cannot be translated for the requested provider."""


@dataclass(frozen=True)
class Message:
    """One provider-neutral chat message."""

    role: str
    content: str

    def __post_init__(self) -> None:
        """Reject unknown roles and blank content as early as possible."""
        if self.role not in VALID_ROLES:
            raise AdapterError(f"unknown role {self.role!r}")
        if not self.content.strip():
            raise AdapterError(f"empty {self.role} message")


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff: ``delay(n) = min(max_delay, base_delay * factor ** n)``."""

    max_attempts: int = 3
    base_delay: float = 0.5
    factor: float = 2.0
    max_delay: float = 8.0
    retry_on: frozenset[int] = frozenset({429, 500, 502, 503})

    def should_retry(self, attempt: int, status: int) -> bool:
        """Whether a request that failed with HTTP ``status`` on ``attempt`` (0-based) is retried."""
        return attempt + 1 < self.max_attempts and status in self.retry_on

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the failed ``attempt`` (0-based) before trying again."""
        if attempt < 0:
            raise ValueError("attempt must be >= 0")
        return min(self.max_delay, self.base_delay * self.factor**attempt)

    def schedule(self) -> list[float]:
        """Every delay the policy allows, in order (one fewer than ``max_attempts``)."""
        return [self.delay(n) for n in range(self.max_attempts - 1)]


class ProviderAdapter:
    """Base adapter: validate a conversation, then render it as a provider request body."""

    name = "base"

    def __init__(self, model: str, max_tokens: int = 512) -> None:
        """Remember the model and the output budget; both are checked eagerly."""
        if not model:
            raise AdapterError("a model name is required")
        if max_tokens <= 0:
            raise AdapterError("max_tokens must be positive")
        self.model = model
        self.max_tokens = max_tokens

    def validate(self, messages: Sequence[Message]) -> None:
        """Check the conversation's shape shared by all providers.

        It must be non-empty, hold at most one system message (first), and end with the user.
        """
        if not messages:
            raise AdapterError("the conversation is empty")
        systems = [index for index, message in enumerate(messages) if message.role == "system"]
        if len(systems) > 1:
            raise AdapterError("at most one system message is allowed")
        if systems and systems[0] != 0:
            raise AdapterError("the system message must come first")
        if messages[-1].role != "user":
            raise AdapterError("the last message must come from the user")

    def to_request(self, messages: Sequence[Message]) -> dict[str, Any]:
        """Validate ``messages`` and build this provider's request body."""
        self.validate(messages)
        return self.render(messages)

    def render(self, messages: Sequence[Message]) -> dict[str, Any]:
        """Build the provider-specific request body; subclasses override this."""
        raise NotImplementedError

    def parse_reply(self, payload: Mapping[str, Any]) -> Message:
        """Turn the provider's reply body into an assistant :class:`Message`."""
        raise NotImplementedError


class OpenAIAdapter(ProviderAdapter):
    """Chat-completions style: one flat message list, system prompt included."""

    name = "openai"

    def render(self, messages: Sequence[Message]) -> dict[str, Any]:
        """Render as ``{"model", "max_tokens", "messages": [{"role", "content"}, ...]}``."""
        return {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
        }

    def parse_reply(self, payload: Mapping[str, Any]) -> Message:
        """Read ``choices[0].message.content``."""
        choices = payload.get("choices") or []
        if not choices:
            raise AdapterError("reply has no choices")
        content = choices[0].get("message", {}).get("content")
        if not isinstance(content, str):
            raise AdapterError("reply message has no text content")
        return Message("assistant", content)


class AnthropicAdapter(ProviderAdapter):
    """Messages style: the system prompt is a top-level field, replies are content blocks."""

    name = "anthropic"

    def render(self, messages: Sequence[Message]) -> dict[str, Any]:
        """Render with ``system`` split out of the message list."""
        body: dict[str, Any] = {"model": self.model, "max_tokens": self.max_tokens}
        turns = list(messages)
        if turns[0].role == "system":
            body["system"] = turns.pop(0).content
        body["messages"] = [{"role": m.role, "content": m.content} for m in turns]
        return body

    def parse_reply(self, payload: Mapping[str, Any]) -> Message:
        """Join the text of every ``{"type": "text"}`` block of ``content``."""
        blocks = payload.get("content") or []
        texts = [block["text"] for block in blocks if block.get("type") == "text"]
        if not texts:
            raise AdapterError("reply has no text blocks")
        return Message("assistant", "".join(texts))


#: Adapter classes by provider name.
ADAPTERS: dict[str, type[ProviderAdapter]] = {
    OpenAIAdapter.name: OpenAIAdapter,
    AnthropicAdapter.name: AnthropicAdapter,
}


def adapter_for(provider: str, model: str, max_tokens: int = 512) -> ProviderAdapter:
    """Build the adapter for ``provider`` (case-insensitive)."""
    try:
        cls = ADAPTERS[provider.lower()]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise AdapterError(f"unknown provider {provider!r} (known: {known})") from None
    return cls(model, max_tokens)
