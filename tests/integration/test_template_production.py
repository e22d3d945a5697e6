"""What a production stack needs, proved from template.yaml rendered for its parameters: logs
that expire, an alarm on everything that can fail quietly, tracing, throttling, names two
stacks cannot share, deletion protection in prod, and an identity provider of its own exactly
when none is given (docs/deploy.md)."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from typing import Any

import pytest

from holdfast.settings import Settings
from holdfast_cli.local.template import PROJECT_ROOT, functions, load_template
from tests.cloudformation import render, rules_hold

ISSUER = "https://login.example.com/"
AUDIENCE = "storefront-app,feeds-app"
COGNITO_TYPES = {
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolDomain",
    "AWS::Cognito::UserPoolResourceServer",
    "AWS::Cognito::UserPoolClient",
}
NAME_PROPERTIES = {
    "Name",
    "LayerName",
    "DashboardName",
    "LogGroupName",
    "TopicName",
    "AlarmName",
    "UserPoolName",
    "ClientName",
    "QueueName",
    "TableName",
    "FunctionName",
    "RoleName",
    "BucketName",
    "Domain",
}
"""Properties that give a resource a name an account or region holds once."""
NOT_NAMES = {"StageName", "MetricName", "DatabaseName", "EventBusName"}
"""``*Name`` properties that name something inside the stack's own resources."""
TOPIC = {"Ref": "AlarmTopic"}
EVERY_FUNCTION = {"RestockThreshold": "12.5"}
"""Parameters that deploy every function the template declares (the daily restocking run is
deployed only with a threshold)."""


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in template["Resources"].items() if body["Type"] == kind}


def alarms_on(template: dict[str, Any], metric: str, dimension: Any) -> list[dict[str, Any]]:
    return [
        alarm["Properties"]
        for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"]["MetricName"] == metric
        and any(d["Value"] == dimension for d in alarm["Properties"]["Dimensions"])
    ]


def the_alarm_on(template: dict[str, Any], metric: str, dimension: Any) -> dict[str, Any]:
    found = alarms_on(template, metric, dimension)
    assert len(found) == 1, (metric, dimension, len(found))
    return found[0]


def stream_consumers() -> dict[str, dict[str, Any]]:
    return {
        name: event["Properties"]
        for name, spec in functions().items()
        for event in spec.events.values()
        if event["Type"] == "DynamoDB"
    }


# -- logs, alarms, tracing, throttling --------------------------------------------------------------


def test_every_function_logs_to_its_own_group_kept_for_the_retention_days() -> None:
    template = render({"LogRetentionDays": 14, **EVERY_FUNCTION})
    groups = []
    for name in functions():
        group = template["Resources"][name]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert template["Resources"][group]["Type"] == "AWS::Logs::LogGroup", name
        assert template["Resources"][group]["Properties"]["RetentionInDays"] == {
            "Ref": "LogRetentionDays"
        }, name
        groups.append(group)
    assert len(set(groups)) == len(groups)
    for group in resources_of_type(template, "AWS::Logs::LogGroup").values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert load_template()["Parameters"]["LogRetentionDays"]["Default"] == 30


def test_every_failure_queue_has_an_alarm_on_its_depth() -> None:
    template = render()
    queues = {
        props["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"].split(".")[0]
        for props in stream_consumers().values()
    }
    assert queues == set(resources_of_type(template, "AWS::SQS::Queue"))  # every queue is one
    for queue in queues:
        alarm = the_alarm_on(
            template, "ApproximateNumberOfMessagesVisible", {"Fn::GetAtt": f"{queue}.QueueName"}
        )
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (
            1,
            "GreaterThanOrEqualToThreshold",
        ), queue


def test_every_stream_consumer_has_an_alarm_on_its_iterator_age() -> None:
    template = render()
    assert set(stream_consumers()) == {"HoldExpiryFunction", "DemandSignalsFunction"}
    for function, mapping in stream_consumers().items():
        alarm = the_alarm_on(template, "IteratorAge", {"Ref": function})
        assert alarm["Statistic"] == "Maximum"
        # Well before the mapping gives records up (MaximumRecordAgeInSeconds).
        assert alarm["Threshold"] < mapping["MaximumRecordAgeInSeconds"] * 1000 / 4, function


def test_every_function_has_an_alarm_on_its_errors_and_its_throttles() -> None:
    template = render(EVERY_FUNCTION)
    for function in functions():
        for metric in ("Errors", "Throttles"):
            alarm = the_alarm_on(template, metric, {"Ref": function})
            assert (alarm["Statistic"], alarm["Threshold"]) == ("Sum", 1), (function, metric)


def test_every_alarm_notifies_the_topic_and_the_email_subscription_is_optional() -> None:
    for alarm in resources_of_type(render(), "AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [TOPIC]
        assert alarm["Properties"]["OKActions"] == [TOPIC]
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching"  # idle is healthy
    assert resources_of_type(render(), "AWS::SNS::Subscription") == {}
    (subscription,) = resources_of_type(
        render({"AlarmEmail": "oncall@example.com"}), "AWS::SNS::Subscription"
    ).values()
    assert subscription["Properties"] == {
        "TopicArn": TOPIC,
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }


def test_tracing_is_active_for_every_function() -> None:
    template = render(EVERY_FUNCTION)
    assert template["Globals"]["Function"]["Tracing"] == "Active"
    for name in functions():
        assert template["Resources"][name]["Properties"].get("Tracing", "Active") == "Active", name


def test_the_api_throttles_every_route_and_logs_each_request_as_one_json_line() -> None:
    api = render()["Resources"]["HttpApi"]["Properties"]
    assert api["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
    }
    assert api["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": "HttpApiAccessLogGroup.Arn"}
    line = json.loads(api["AccessLogSettings"]["Format"])
    assert {
        "requestId",
        "routeKey",
        "status",
        "responseLatency",
        "authorizerError",
        "clientId",
    } <= set(line)


def test_the_sweeper_runs_once_at_a_time_with_a_reserved_slot_unless_the_account_cannot() -> None:
    sweeper = render()["Resources"]["HoldSweeperFunction"]["Properties"]
    assert sweeper["ReservedConcurrentExecutions"] == {"Ref": "SweeperReservedConcurrency"}
    assert load_template()["Parameters"]["SweeperReservedConcurrency"]["Default"] == 1
    # A sweep that cannot start is dropped, not queued for hours: the next minute's does its work.
    assert sweeper["EventInvokeConfig"] == {
        "MaximumEventAgeInSeconds": 60,
        "MaximumRetryAttempts": 0,
    }
    unreserved = render({"SweeperReservedConcurrency": 0})["Resources"]["HoldSweeperFunction"][
        "Properties"
    ]
    assert "ReservedConcurrentExecutions" not in unreserved


def test_the_table_and_the_user_pool_are_protected_from_deletion_in_prod_only() -> None:
    for stage, table_protected, pool_protection in (
        ("prod", True, "ACTIVE"),
        ("dev", False, "INACTIVE"),
    ):
        template = render({"Stage": stage})
        assert (
            template["Resources"]["InventoryTable"]["Properties"]["DeletionProtectionEnabled"]
            is table_protected
        )
        assert (
            template["Resources"]["UserPool"]["Properties"]["DeletionProtection"] == pool_protection
        )
        assert template["Resources"]["InventoryTable"]["DeletionPolicy"] == "Retain"


def test_every_named_resource_carries_the_stack_name_so_stacks_never_collide() -> None:
    every_option = {"AlarmEmail": "oncall@example.com", "SignalExport": "enabled", **EVERY_FUNCTION}
    for parameters in ({}, every_option):
        for name, resource in render(parameters)["Resources"].items():
            for key, value in resource.get("Properties", {}).items():
                if key in NOT_NAMES or not (key in NAME_PROPERTIES or key.endswith("Name")):
                    continue
                assert key in NAME_PROPERTIES, (
                    f"{name}.{key}: add it to NAME_PROPERTIES or NOT_NAMES"
                )
                text = json.dumps(value)
                assert "Fn::Sub" in text and re.search(
                    r"\$\{AWS::Stack(Name|Id)\}|AWS::StackId", text
                ), (name, key, value)
                assert "${Stage}" not in text, (name, key)  # two stacks on one stage would share it
    database = render(every_option)["Resources"]["SignalAnalyticsDatabase"]["Properties"]
    assert "${AWS::StackName}" in json.dumps(database["DatabaseInput"]["Name"])


# -- identity: the stack's own Cognito exactly when no issuer is given -------------------------------


def test_without_an_issuer_the_stack_creates_a_user_pool_and_the_api_trusts_only_it() -> None:
    template = render()
    kinds = [
        body["Type"] for body in template["Resources"].values() if body["Type"] in COGNITO_TYPES
    ]
    assert sorted(kinds) == sorted([*COGNITO_TYPES, "AWS::Cognito::UserPoolClient"])  # two clients
    jwt = template["Resources"]["HttpApi"]["Properties"]["Auth"]["Authorizers"]["HoldfastJwt"][
        "JwtConfiguration"
    ]
    assert jwt == {
        "issuer": {"Fn::Sub": "https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}/${UserPool}"},
        "audience": [{"Ref": "BackOfficeClient"}, {"Ref": "StorefrontClient"}],
    }
    assert {"ApiUrl", "TokenUrl", "BackOfficeClientId", "StorefrontClientId", "UserPoolId"} <= set(
        template["Outputs"]
    )


def test_with_an_issuer_the_stack_creates_no_identity_resources_and_trusts_the_given_one() -> None:
    template = render({"JwtIssuer": ISSUER, "JwtAudience": AUDIENCE})
    assert [
        name for name, body in template["Resources"].items() if body["Type"] in COGNITO_TYPES
    ] == []
    jwt = template["Resources"]["HttpApi"]["Properties"]["Auth"]["Authorizers"]["HoldfastJwt"][
        "JwtConfiguration"
    ]
    assert jwt == {
        "issuer": {"Ref": "JwtIssuer"},
        "audience": {"Fn::Split": [",", {"Ref": "JwtAudience"}]},
    }
    assert not {"TokenUrl", "BackOfficeClientId", "StorefrontClientId", "UserPoolId"} & set(
        template["Outputs"]
    )
    assert "Cognito" not in json.dumps(template["Resources"]) and "UserPool" not in json.dumps(
        template["Resources"]
    )


@pytest.mark.parametrize(
    ("issuer", "audience", "valid"),
    [
        ("", "", True),
        (ISSUER, AUDIENCE, True),
        (ISSUER, "", False),
        ("", AUDIENCE, False),
    ],
)
def test_the_issuer_and_the_audience_are_given_together_or_not_at_all(
    issuer: str, audience: str, valid: bool
) -> None:
    assert rules_hold({"JwtIssuer": issuer, "JwtAudience": audience}) == {
        "IssuerAndAudienceTogether": valid
    }


def test_the_resource_server_offers_exactly_the_scopes_the_routes_ask_for() -> None:
    server = render()["Resources"]["ApiResourceServer"]["Properties"]
    offered = {f"{server['Identifier']}/{scope['ScopeName']}" for scope in server["Scopes"]}
    asked = {
        scope
        for spec in functions().values()
        for event in spec.events.values()
        if event["Type"] == "HttpApi"
        for scope in event["Properties"]["Auth"]["AuthorizationScopes"]
    }
    assert offered == asked


def test_the_app_clients_are_machine_clients_with_the_scopes_of_their_job() -> None:
    clients = resources_of_type(render(), "AWS::Cognito::UserPoolClient")
    scopes = {name: set(body["Properties"]["AllowedOAuthScopes"]) for name, body in clients.items()}
    assert scopes == {
        "BackOfficeClient": {"holdfast/read", "holdfast/holds", "holdfast/inventory.write"},
        "StorefrontClient": {"holdfast/read", "holdfast/holds"},  # never stock or configuration
    }
    for name, body in clients.items():
        properties = body["Properties"]
        assert properties["AllowedOAuthFlows"] == ["client_credentials"], name
        assert properties["GenerateSecret"] is True, name
        assert properties["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"], (
            name
        )  # no password sign-in
        assert not {"CallbackURLs", "LogoutURLs"} & set(properties), name
        assert body["DependsOn"] == "ApiResourceServer", name  # the scopes exist first
    pool = render()["Resources"]["UserPool"]["Properties"]
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}  # nobody signs up


# -- least privilege for what this adds -------------------------------------------------------------


def test_only_this_stacks_alarms_may_publish_to_the_alarm_topic() -> None:
    (policy,) = resources_of_type(render(), "AWS::SNS::TopicPolicy").values()
    assert policy["Properties"]["Topics"] == [TOPIC]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"
    assert statement["Resource"] == TOPIC
    assert statement["Condition"]["StringEquals"] == {
        "aws:SourceAccount": {"Ref": "AWS::AccountId"}
    }
    alarm_arns = statement["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
    assert alarm_arns.endswith(":alarm:${AWS::StackName}-*")
    for alarm in resources_of_type(render(), "AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-")


def test_the_guardrails_add_no_role_policy_or_grant() -> None:
    for parameters in (
        {},
        {"JwtIssuer": ISSUER, "JwtAudience": AUDIENCE, "AlarmEmail": "oncall@example.com"},
    ):
        for name, resource in render(parameters)["Resources"].items():
            assert not resource["Type"].startswith("AWS::IAM::"), name
            assert resource["Type"] != "AWS::Logs::ResourcePolicy", name
    # Each function's grants are test_template_security's list: the guardrails change none.


# -- samconfig.toml: what `make deploy [ENV=prod]` deploys -------------------------------------------


def deploy_settings(environment: str) -> tuple[dict[str, Any], dict[str, str]]:
    config = tomllib.loads((PROJECT_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    deploy = {
        **config[environment]["global"]["parameters"],
        **config[environment]["deploy"]["parameters"],
    }
    overrides = dict(pair.split("=", 1) for pair in shlex.split(deploy["parameter_overrides"]))
    return deploy, overrides


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_each_environment_deploys_its_own_stack_with_parameters_the_template_has(
    environment: str,
) -> None:
    deploy, overrides = deploy_settings(environment)
    assert deploy["stack_name"] == f"holdfast-{environment}"  # what `make outputs ENV=...` reads
    assert deploy["capabilities"] == "CAPABILITY_IAM"  # roles, none named
    assert set(overrides) <= set(load_template()["Parameters"])
    assert overrides["Stage"] == environment
    assert rules_hold(overrides) == {"IssuerAndAudienceTogether": True}


def test_prod_is_protected_and_reviewed_and_dev_deploys_on_a_new_account() -> None:
    prod, prod_parameters = deploy_settings("prod")
    assert render(prod_parameters)["Conditions"]["IsProduction"] is True
    assert prod["confirm_changeset"] is True  # the change set is shown before anything changes
    _dev, dev_parameters = deploy_settings("dev")
    assert render(dev_parameters)["Conditions"]["IsProduction"] is False
    assert dev_parameters["SweeperReservedConcurrency"] == "0"  # a new account cannot reserve any


# -- sam local invoke --env-vars events/env.json ----------------------------------------------------


def test_sam_local_can_point_every_function_at_dynamodb_local_through_env_json() -> None:
    declared = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    overrides = json.loads((PROJECT_ROOT / "events/env.json").read_text(encoding="utf-8"))[
        "Parameters"
    ]
    # sam local only overrides variables the template declares; deployed, the endpoint is AWS's.
    assert set(overrides) <= set(declared)
    assert declared["DYNAMODB_ENDPOINT_URL"] == ""
    assert (
        Settings.from_environment(
            {"TABLE_NAME": "holdfast", "DYNAMODB_ENDPOINT_URL": ""}
        ).dynamodb_endpoint_url
        is None
    )
    local = Settings.from_environment(
        {**{k: str(v) for k, v in declared.items() if isinstance(v, str)}, **overrides}
    )
    assert (local.table_name, local.dynamodb_endpoint_url) == (
        "holdfast-local",
        "http://host.docker.internal:8000",
    )
