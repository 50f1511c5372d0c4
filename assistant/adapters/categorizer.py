"""BedrockCategorizer: the ``Categorizer`` port on Bedrock's Converse API, behind the event's guardrail.

- One ``Converse`` call: the system prompt lists the known categories (predefined first) and asks for exactly
  one of them, or a new short one only when none fits (and never a new one once ``cap`` are known). The
  answer is structured through tool use: a single tool, ``set_category`` (``{"category": string}``), forced
  with ``toolChoice`` (forcing a named tool needs a model that supports it: Anthropic Claude 3 and later,
  Amazon Nova, Mistral Large). Temperature 0: the same question should land in the same category.
- Only the question is guarded (a ``guardContent`` block): the category names in the system prompt must not
  trip the guardrail. An intervention (``stopReason == "guardrail_intervened"``) counts as
  ``OTHER_CATEGORY``; so does an answer without the tool call.
- Whatever the model names goes through ``settle``: a near-duplicate of a known category is counted under
  it, and past the cap a new name becomes ``OTHER_CATEGORY``. The dashboard stays small whatever it says.
- Throttling and transient errors: retried ``attempts`` times in all with full-jitter exponential backoff
  (the clock's ``sleep``), then ``RetryableError``; a rejected request (``ValidationException``...) raises
  ``RejectedByService``.

Why not langchain-aws (``ChatBedrockConverse(...).with_structured_output(schema)``)? It is not installed in
this project (``python -X importtime -c "import langchain_aws"``: ModuleNotFoundError), and would not earn
its place: it builds the very same ``toolConfig`` for one call, while pulling langchain-core and langsmith
into a Lambda whose cold start already pays about 0.25 s for boto3 (measured here with ``-X importtime``);
the architecture test keeps ``langchain`` out of the inbound path for that reason. The retry, the
guardrail's ``guardContent`` and the error translation would still be ours to write.
"""

from __future__ import annotations

import random
from typing import Any

from aws_lambda_powertools import Logger

from assistant.adapters.aws import AWS_ERRORS, error_code, misconfiguration, translate
from assistant.errors import Misconfigured, RetryableError
from assistant.ports import OTHER_CATEGORY, Clock
from assistant.services.categories import DEFAULT_CAP, MAX_NAME_CHARS, is_other, settle

logger = Logger(child=True)

TOOL_NAME = "set_category"
MAX_QUESTION_CHARS = 2000
"""A longer message is categorized by its beginning: enough to know what it is about, and bounded cost."""

SYSTEM_PROMPT = """You sort the questions that attendees of an event send to its assistant into categories,
for the organizers' dashboard. The known categories are:
{categories}

Call the {tool} tool with exactly one category for the question in the user's message:
- one of the known categories, spelled exactly as listed, whenever one fits, even loosely;
{new_rule}
The question may be in any language; category names are in English. Never answer the question itself."""

NEW_ALLOWED = (
    "- only if none fits, a new category name: short (1 to 4 words), in English, Title Case, general enough\n"
    '  for similar questions, never a variant of a known one; "Other" if you cannot tell what it is about.'
)
NEW_BLOCKED = '- if none fits, "Other": no new category can be added.'

TOOL_CONFIG: dict[str, Any] = {
    "tools": [
        {
            "toolSpec": {
                "name": TOOL_NAME,
                "description": "Record the category of the attendee's question.",
                "inputSchema": {
                    "json": {
                        "type": "object",
                        "properties": {
                            "category": {
                                "type": "string",
                                "description": "A known category exactly as listed, or a new short name.",
                                "maxLength": MAX_NAME_CHARS,
                            }
                        },
                        "required": ["category"],
                    }
                },
            }
        }
    ],
    "toolChoice": {"tool": {"name": TOOL_NAME}},
}


class BedrockCategorizer:
    """``Categorizer`` on Converse; ``runtime_client`` is a boto3 ``bedrock-runtime`` client (give it few
    retries of its own: this class does the backing off)."""

    def __init__(
        self,
        runtime_client: Any,
        *,
        model_arn: str,
        guardrail_id: str,
        guardrail_version: str,
        clock: Clock,
        cap: int = DEFAULT_CAP,
        attempts: int = 4,
        base_delay_seconds: float = 0.5,
        max_delay_seconds: float = 4.0,
        max_tokens: int = 100,
        rng: random.Random | None = None,
    ) -> None:
        self._runtime = runtime_client
        self._model_arn = model_arn
        self._guardrail = {"guardrailIdentifier": guardrail_id, "guardrailVersion": guardrail_version}
        self._clock = clock
        self._cap = cap
        self._attempts = max(1, attempts)
        self._base_delay = base_delay_seconds
        self._max_delay = max_delay_seconds
        self._max_tokens = max_tokens
        self._rng = rng or random.Random()

    def categorize(self, question: str, known: list[str]) -> str:
        text = question.strip()[:MAX_QUESTION_CHARS]
        if not text:
            return OTHER_CATEGORY
        response = self._converse(self._request(text, known))
        if response.get("stopReason") == "guardrail_intervened":
            logger.info("categorization: the guardrail intervened")
            return OTHER_CATEGORY
        proposed = _tool_answer(response)
        if proposed is None:
            logger.warning("categorization: no tool call", extra={"stop": response.get("stopReason")})
            return OTHER_CATEGORY
        return settle(proposed, known, cap=self._cap)

    def _request(self, question: str, known: list[str]) -> dict[str, Any]:
        """The ``Converse`` request: the known categories in the system prompt, the question guarded."""
        listed = [name for name in dict.fromkeys(known) if name and not is_other(name)]
        system = SYSTEM_PROMPT.format(
            categories="\n".join(f"- {name}" for name in listed) or "(none yet)",
            tool=TOOL_NAME,
            new_rule=NEW_BLOCKED if len(listed) >= self._cap else NEW_ALLOWED,
        )
        return {
            "modelId": self._model_arn,
            "system": [{"text": system}],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"text": "The attendee's question:"},
                        {"guardContent": {"text": {"text": question}}},
                    ],
                }
            ],
            "toolConfig": TOOL_CONFIG,
            "inferenceConfig": {"maxTokens": self._max_tokens, "temperature": 0.0},
            "guardrailConfig": self._guardrail,
        }

    def _converse(self, request: dict[str, Any]) -> dict[str, Any]:
        attempt = 0
        while True:
            attempt += 1
            try:
                response: dict[str, Any] = self._runtime.converse(**request)
                return response
            except AWS_ERRORS as exc:
                error = misconfiguration("bedrock", exc) or translate("bedrock", exc)
                if (
                    not isinstance(error, RetryableError)
                    or isinstance(error, Misconfigured)
                    or attempt >= self._attempts
                ):
                    logger.warning("categorization failed", extra={"error": error_code(exc), "try": attempt})
                    raise error from None
                ceiling = min(self._max_delay, self._base_delay * 2 ** (attempt - 1))
                self._clock.sleep(self._rng.uniform(0, ceiling))


def _tool_answer(response: dict[str, Any]) -> str | None:
    content = ((response.get("output") or {}).get("message") or {}).get("content") or []
    for part in content:
        use = part.get("toolUse") if isinstance(part, dict) else None
        if isinstance(use, dict) and use.get("name") == TOOL_NAME:
            arguments = use.get("input")
            category = arguments.get("category") if isinstance(arguments, dict) else None
            if isinstance(category, str) and category.strip():
                return category
    return None
