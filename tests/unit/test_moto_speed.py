"""The local twin's moto speed-ups answer as moto does: a cancelled transaction leaves every item as it was,
and a message's visibility follows its timeout."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from assistant.local import moto_speed


@pytest.fixture
def ddb() -> Iterator[Any]:
    moto_speed.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def _items(client: Any) -> dict[str, dict[str, Any]]:
    return {item["pk"]["S"]: item for item in client.scan(TableName="t")["Items"]}


def test_a_cancelled_transaction_leaves_every_item_as_it_was(ddb: Any) -> None:
    ddb.put_item(TableName="t", Item={"pk": {"S": "updated"}, "n": {"N": "1"}})
    ddb.put_item(TableName="t", Item={"pk": {"S": "deleted"}, "v": {"S": "keep"}})
    ddb.put_item(TableName="t", Item={"pk": {"S": "guard"}, "state": {"S": "taken"}})
    before = _items(ddb)

    with pytest.raises(ddb.exceptions.TransactionCanceledException) as cancelled:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "new"}, "v": {"S": "x"}}}},
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"pk": {"S": "updated"}},
                        "UpdateExpression": "ADD n :one SET extra = :x",
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":x": {"S": "y"}},
                    }
                },
                {"Delete": {"TableName": "t", "Key": {"pk": {"S": "deleted"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "t",
                        "Key": {"pk": {"S": "guard"}},
                        "ConditionExpression": "attribute_not_exists(#s)",
                        "ExpressionAttributeNames": {"#s": "state"},
                    }
                },
            ]
        )

    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "ConditionalCheckFailed"]
    assert _items(ddb) == before


def test_a_transaction_that_holds_applies_every_item(ddb: Any) -> None:
    ddb.put_item(TableName="t", Item={"pk": {"S": "counter"}, "n": {"N": "1"}})
    ddb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": "t",
                    "Item": {"pk": {"S": "marker"}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": "t",
                    "Key": {"pk": {"S": "counter"}},
                    "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
        ]
    )
    items = _items(ddb)
    assert items["counter"]["n"] == {"N": "2"} and "marker" in items


def test_a_received_message_is_hidden_until_its_visibility_timeout_ends() -> None:
    moto_speed.install()
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="a")
        first = sqs.receive_message(QueueUrl=url)["Messages"]
        assert len(first) == 1
        assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
        time.sleep(1.1)
        assert len(sqs.receive_message(QueueUrl=url)["Messages"]) == 1


def test_the_queue_counts_are_moto_s_own() -> None:
    moto_speed.install()
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
        for _ in range(5):
            sqs.send_message(QueueUrl=url, MessageBody="waiting")
        sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)

        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]

        assert attributes["ApproximateNumberOfMessages"] == "3"
        assert attributes["ApproximateNumberOfMessagesNotVisible"] == "2"
        assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
        assert attributes["VisibilityTimeout"] == "30"


def test_a_deleted_message_is_gone_once_and_a_stale_handle_is_refused() -> None:
    moto_speed.install()
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="a")
        sqs.send_message(QueueUrl=url, MessageBody="b")
        first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
        again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert first["Body"] in {m["Body"] for m in again}

        sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])  # an older handle of it
        sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])  # again: no error

        left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert [m["Body"] for m in left] == [b for b in ("a", "b") if b != first["Body"]]
        with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
            sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
