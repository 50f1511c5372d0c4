"""The doctor's ports on AWS (``assistant.services.doctor``): CloudFormation, End User Messaging Social's
linked accounts, Bedrock's model catalogue and access, SQS queue depths.

Each takes its boto3 client (``assistant.adapters.aws.client(...)``) and translates botocore's errors with
``assistant.adapters.aws.translate``; the doctor turns them into findings that name the error code.
"""

from __future__ import annotations

from typing import Any

from assistant.adapters.aws import AWS_ERRORS, error_code, translate
from assistant.services.doctor import MODEL_PARAMETER, LinkedAccount, ModelState, QueueDepth

# -- CloudFormation -----------------------------------------------------------------------------------------


class CloudFormationStack:
    """A stack by name (``StackInfo``); described once, on first use."""

    def __init__(self, client: Any, name: str) -> None:
        self._client = client
        self.name = name
        self._described: dict[str, Any] | None = None

    @property
    def region(self) -> str:
        return str(self._client.meta.region_name)

    def _stack(self) -> dict[str, Any]:
        if self._described is None:
            try:
                response = self._client.describe_stacks(StackName=self.name)
            except AWS_ERRORS as exc:
                raise translate("cloudformation", exc) from None
            stacks = response.get("Stacks") or []
            if not stacks:
                raise LookupError("no such stack")
            self._described = dict(stacks[0])
        return self._described

    def status(self) -> str:
        return str(self._stack().get("StackStatus") or "")

    def outputs(self) -> dict[str, str]:
        return {
            str(output["OutputKey"]): str(output.get("OutputValue") or "")
            for output in self._stack().get("Outputs") or ()
        }


# -- End User Messaging Social ------------------------------------------------------------------------------


class SocialMessagingAccounts:
    """The WhatsApp business accounts linked to the AWS account (``WhatsAppAccounts``)."""

    SERVICE = "socialmessaging"

    def __init__(self, client: Any) -> None:
        self._client = client

    def linked(self) -> list[LinkedAccount]:
        accounts: list[LinkedAccount] = []
        request: dict[str, Any] = {}
        while True:
            try:
                response = self._client.list_linked_whatsapp_business_accounts(**request)
            except AWS_ERRORS as exc:
                raise translate(self.SERVICE, exc) from None
            for summary in response.get("linkedAccounts") or ():
                accounts.append(self._account(str(summary["id"])))
            token = response.get("nextToken")
            if not token:
                return accounts
            request["nextToken"] = token

    def _account(self, account_id: str) -> LinkedAccount:
        # The list's summaries lack the phone numbers: only the details hold them.
        try:
            account = self._client.get_linked_whatsapp_business_account(id=account_id)["account"]
        except AWS_ERRORS as exc:
            raise translate(self.SERVICE, exc) from None
        destinations = [
            str(d["eventDestinationArn"])
            for d in account.get("eventDestinations") or ()
            if d.get("eventDestinationArn")
        ]
        return LinkedAccount(
            account_id=str(account.get("id") or account_id),
            name=str(account.get("wabaName") or ""),
            phone_number_arns=tuple(str(p["arn"]) for p in account.get("phoneNumbers") or () if p.get("arn")),
            event_destination=destinations[0] if destinations else None,
        )

    def link(self, account_id: str, topic_arn: str) -> None:
        try:
            self._client.put_whatsapp_business_account_event_destinations(
                id=account_id, eventDestinations=[{"eventDestinationArn": topic_arn}]
            )
        except AWS_ERRORS as exc:
            raise translate(self.SERVICE, exc) from None


# -- Bedrock ------------------------------------------------------------------------------------------------

_PROFILE_KINDS = (":inference-profile/", ":application-inference-profile/")
_GEOGRAPHIES = ("us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca.")
"""Prefixes of the system-defined cross-region inference profiles' ids."""
_ACCESS_DENIED = frozenset({"AccessDeniedException", "UnrecognizedClientException"})
PERMISSIONS = (
    "bedrock:GetFoundationModel, bedrock:GetFoundationModelAvailability and bedrock:GetInferenceProfile"
)


class BedrockModelAccess:
    """Whether a model can be invoked in the client's region (``ModelAccess``), from the Bedrock control
    plane (``bedrock``, not ``bedrock-runtime``): a foundation model must be ACTIVE, offered on demand and
    authorized for the account; an inference profile must be ACTIVE and its model authorized."""

    SERVICE = "bedrock"

    def __init__(self, client: Any) -> None:
        self._client = client

    @property
    def region(self) -> str:
        return str(self._client.meta.region_name)

    def check(self, model_arn: str) -> ModelState:
        try:
            if _is_profile(model_arn):
                return self._profile(model_arn)
            return self._foundation_model(_model_id(model_arn))
        except AWS_ERRORS as exc:
            code = error_code(exc)
            if code in _ACCESS_DENIED:
                return ModelState(
                    usable=False,
                    problem=f"cannot check: {code}",
                    fix=f"run doctor with {PERMISSIONS} permissions",
                )
            if code in ("ResourceNotFoundException", "ValidationException"):
                return ModelState(
                    usable=False,
                    problem=f"not known in {self.region} ({code})",
                    fix=f"check the model id: aws bedrock list-foundation-models --region {self.region}",
                )
            raise translate(self.SERVICE, exc) from None

    def _foundation_model(self, model_id: str) -> ModelState:
        details = self._client.get_foundation_model(modelIdentifier=model_id).get("modelDetails") or {}
        lifecycle = str((details.get("modelLifecycle") or {}).get("status") or "")
        if lifecycle != "ACTIVE":
            return ModelState(
                usable=False,
                problem=f"its lifecycle is {lifecycle or 'unknown'}: it is being retired",
                fix=f"choose an active model: aws bedrock list-foundation-models --region {self.region}"
                " --by-inference-type ON_DEMAND",
            )
        if "ON_DEMAND" not in (details.get("inferenceTypesSupported") or ()):
            return ModelState(
                usable=False,
                problem=f"not offered on demand in {self.region}: only through an inference profile",
                fix=f"use its inference profile, e.g. us.{model_id} / eu.{model_id} / apac.{model_id}:"
                f" sam deploy --parameter-overrides {MODEL_PARAMETER}=us.{model_id}",
            )
        return self._availability(model_id)

    def _profile(self, profile_arn: str) -> ModelState:
        profile = self._client.get_inference_profile(inferenceProfileIdentifier=profile_arn)
        status = str(profile.get("status") or "")
        if status != "ACTIVE":
            return ModelState(
                usable=False,
                problem=f"the inference profile is {status or 'in an unknown state'}",
                fix=f"list the active ones: aws bedrock list-inference-profiles --region {self.region}",
            )
        # A cross-region profile lists its model once per region: each model is checked once, here.
        models = dict.fromkeys(
            _model_id(str(m["modelArn"])) for m in profile.get("models") or () if m.get("modelArn")
        )
        for model_id in models:
            state = self._availability(model_id)
            if not state.usable:
                return state
        return ModelState(usable=True)

    def _availability(self, model_id: str) -> ModelState:
        answer = self._client.get_foundation_model_availability(modelId=model_id)
        enable = f"enable model access in the Bedrock console (Model access) in {self.region}"
        if answer.get("regionAvailability") != "AVAILABLE":
            return ModelState(
                usable=False,
                problem=f"not available in {self.region}",
                fix="deploy in a region that offers it, or use its cross-region inference profile",
            )
        if answer.get("authorizationStatus") != "AUTHORIZED":
            return ModelState(usable=False, problem="the account is not authorized to use it", fix=enable)
        if answer.get("entitlementAvailability") != "AVAILABLE":
            return ModelState(usable=False, problem="the account is not entitled to it", fix=enable)
        agreement = str((answer.get("agreementAvailability") or {}).get("status") or "")
        if agreement != "AVAILABLE":
            return ModelState(usable=False, problem=f"its agreement is {agreement or 'missing'}", fix=enable)
        return ModelState(usable=True)


def _is_profile(identifier: str) -> bool:
    if identifier.startswith("arn:"):
        return any(kind in identifier for kind in _PROFILE_KINDS)
    return identifier.startswith(_GEOGRAPHIES)


def _model_id(identifier: str) -> str:
    """``amazon.nova-lite-v1:0`` of a foundation model's ARN (an id stays as it is)."""
    return identifier.split("/", 1)[1] if identifier.startswith("arn:") and "/" in identifier else identifier


# -- SQS ----------------------------------------------------------------------------------------------------


class SqsQueues:
    """Queue depths (``Queues``). The age of the oldest message is a CloudWatch metric, not an attribute:
    it stays unknown here."""

    SERVICE = "sqs"

    def __init__(self, client: Any) -> None:
        self._client = client

    def depth(self, queue_url: str) -> QueueDepth:
        try:
            response = self._client.get_queue_attributes(
                QueueUrl=queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )
        except AWS_ERRORS as exc:
            raise translate(self.SERVICE, exc) from None
        attributes = response.get("Attributes") or {}
        return QueueDepth(
            visible=int(attributes.get("ApproximateNumberOfMessages") or 0),
            in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible") or 0),
        )
