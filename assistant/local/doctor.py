"""``assistant doctor`` against the local twin: the same checks as for a deployed stack, on moto and the
stand-ins. The twin is its own stack (its template's outputs, resolved to the resources it created); its
business account is linked to its inbound topic when it starts; it answers with the local engine, so no
Bedrock model needs enabling; its ingestion is the local library's; its queues are moto's; the round trip is
a probe through the twin's pipeline, drained in virtual time.
"""

from __future__ import annotations

from collections.abc import Mapping

from assistant.adapters.aws import client
from assistant.adapters.doctor import SocialMessagingAccounts, SqsQueues
from assistant.adapters.round_trip import DEFAULT_QUESTION, PipelineRoundTrip, table_steps
from assistant.local.runtime import REGION, LocalCloud
from assistant.ports import Ingestion
from assistant.services.doctor import LOCAL_TWIN, Doctor, ModelState


class LocalStack:
    def __init__(self, cloud: LocalCloud) -> None:
        self._cloud = cloud

    @property
    def name(self) -> str:
        return LOCAL_TWIN

    @property
    def region(self) -> str:
        return REGION

    def status(self) -> str:
        return "CREATE_COMPLETE"

    def outputs(self) -> Mapping[str, str]:
        return self._cloud.outputs()


class LocalModels:
    """The local twin answers with the embedded engine: every model the template names is "usable" here."""

    def check(self, model_arn: str) -> ModelState:
        return ModelState(usable=True)


def local_doctor(
    cloud: LocalCloud,
    ingestion: Ingestion,
    *,
    link: bool = False,
    replace: bool = False,
    round_trip: bool = False,
    to: str | None = None,
    question: str = DEFAULT_QUESTION,
) -> Doctor:
    outputs = cloud.outputs()
    trip = None
    if round_trip:
        trip = PipelineRoundTrip(
            publish=cloud.publish_inbound,
            steps=table_steps(client("dynamodb"), outputs["ConversationTableName"]),
            phone_number_arn=outputs["PhoneNumberArn"],
            clock=cloud.clock,
            settle=cloud.drain,
            to=to,
            question=question,
        )
    return Doctor(
        LocalStack(cloud),
        accounts=SocialMessagingAccounts(client("socialmessaging")),
        models=LocalModels(),
        ingestion=lambda _knowledge_base, _data_source: ingestion,
        queues=SqsQueues(client("sqs")),
        clock=cloud.clock,
        round_trip=trip,
        link=link,
        replace=replace,
    )
