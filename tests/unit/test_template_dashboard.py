"""The organizers' dashboard in template.yaml: Cognito sign-in (invited organizers only), an HTTP API whose
report routes need a JWT, and a function that may only read the conversation table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.local.template import load_template
from tests.unit.conftest import as_list as _as_list

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_ROUTES = {"GET /", "GET /dashboard", "GET /static/{file}"}
PROTECTED_ROUTES = {"GET /api/report", "GET /api/report.csv"}


def _resources(template: dict[str, Any]) -> dict[str, Any]:
    resources: dict[str, Any] = template["Resources"]
    return resources


def _props(template: dict[str, Any], name: str) -> dict[str, Any]:
    props: dict[str, Any] = _resources(template)[name]["Properties"]
    return props


def _routes(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in _resources(template).values()
        if r["Type"] == "AWS::ApiGatewayV2::Route"
    }


def test_only_an_administrator_can_create_an_organizer(template: dict[str, Any]) -> None:
    pool = _props(template, "OrganizerUserPool")
    assert _resources(template)["OrganizerUserPool"]["Type"] == "AWS::Cognito::UserPool"
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["UsernameAttributes"] == ["email"]
    policy = pool["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12
    assert all(policy[f"Require{kind}"] for kind in ("Lowercase", "Uppercase", "Numbers", "Symbols"))
    assert pool["MfaConfiguration"] == "OPTIONAL"


def test_the_sign_in_domain_prefix_is_lower_case_by_construction(template: dict[str, Any]) -> None:
    domain = _props(template, "OrganizerUserPoolDomain")["Domain"]
    condition, given, derived = domain["Fn::If"]
    assert condition == "HasOrganizerDomainPrefix" and given == {"Ref": "OrganizerDomainPrefix"}
    # The stack id's UUID (lower-case hex), never the stack's name (which may hold capitals).
    assert derived == {
        "Fn::Join": ["-", ["organizers", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]]
    }
    assert (
        template["Parameters"]["OrganizerDomainPrefix"]["AllowedPattern"] == "([a-z0-9](-*[a-z0-9]){0,62})?"
    )


def test_the_client_is_public_and_uses_the_code_flow_back_to_the_dashboard(template: dict[str, Any]) -> None:
    client = _props(template, "OrganizerUserPoolClient")
    assert client["GenerateSecret"] is False
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert set(client["AllowedOAuthScopes"]) == {"openid", "email"}
    assert client["CallbackURLs"] == [{"Fn::Sub": "${DashboardApi.ApiEndpoint}/dashboard"}]
    assert client["LogoutURLs"] == client["CallbackURLs"]


def test_report_routes_need_the_jwt_authorizer_and_the_page_routes_do_not(template: dict[str, Any]) -> None:
    routes = _routes(template)
    assert set(routes) == PUBLIC_ROUTES | PROTECTED_ROUTES
    for key in PROTECTED_ROUTES:
        assert routes[key]["AuthorizationType"] == "JWT", key
        assert routes[key]["AuthorizerId"] == {"Ref": "DashboardAuthorizer"}, key
    for key in PUBLIC_ROUTES:
        assert routes[key]["AuthorizationType"] == "NONE", key
        assert "AuthorizerId" not in routes[key], key
    assert all(r["Target"] == {"Fn::Sub": "integrations/${DashboardIntegration}"} for r in routes.values())


def test_the_authorizer_trusts_only_the_organizer_pool_and_its_client(template: dict[str, Any]) -> None:
    authorizer = _props(template, "DashboardAuthorizer")
    assert authorizer["AuthorizerType"] == "JWT"
    assert authorizer["IdentitySource"] == ["$request.header.Authorization"]
    jwt = authorizer["JwtConfiguration"]
    assert jwt["Issuer"] == {
        "Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${OrganizerUserPool}"
    }
    assert jwt["Audience"] == [{"Ref": "OrganizerUserPoolClient"}]


def test_the_integration_is_the_dashboard_function_with_payload_2(template: dict[str, Any]) -> None:
    integration = _props(template, "DashboardIntegration")
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    assert integration["IntegrationUri"] == {"Fn::GetAtt": ["DashboardFunction", "Arn"]}
    variables = _props(template, "DashboardStage")["StageVariables"]
    assert variables["clientId"] == {"Ref": "OrganizerUserPoolClient"}


def test_the_dashboard_function_may_only_read_the_table(template: dict[str, Any]) -> None:
    function = _props(template, "DashboardFunction")
    assert function["Handler"] == "handlers.dashboard.handler"
    assert "Policies" not in function
    assert function["Role"] == {"Fn::GetAtt": ["DashboardFunctionRole", "Arn"]}
    (policy,) = _props(template, "DashboardFunctionRole")["Policies"]
    statements = {tuple(sorted(_as_list(s["Action"]))): s for s in policy["PolicyDocument"]["Statement"]}
    table = statements[("dynamodb:BatchGetItem", "dynamodb:GetItem")]
    assert table["Effect"] == "Allow"
    assert table["Resource"] == {"Fn::GetAtt": ["ConversationTable", "Arn"]}
    # The table is under the stack's key: reading it is decrypting, and that is all it may do with the key.
    assert statements[("kms:Decrypt",)]["Resource"] == {"Fn::GetAtt": ["EncryptionKey", "Arn"]}
    assert _props(template, "ConversationTable")["SSESpecification"]["KMSMasterKeyId"] == {
        "Ref": "EncryptionKey"
    }
    # Nothing else but its logs and traces.
    assert set(statements) - {("dynamodb:BatchGetItem", "dynamodb:GetItem"), ("kms:Decrypt",)} == {
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        ("xray:PutTelemetryRecords", "xray:PutTraceSegments"),
    }
    logs = _props(template, "DashboardFunctionLogs")
    assert logs == {
        "LogGroupName": {"Fn::Sub": "/aws/lambda/${AWS::StackName}/DashboardFunction"},
        "RetentionInDays": 30,
        "KmsKeyId": {"Fn::GetAtt": ["EncryptionKey", "Arn"]},
    }
    assert function["LoggingConfig"] == {"LogGroup": {"Ref": "DashboardFunctionLogs"}}


def test_outputs_name_the_dashboard_and_the_organizer_pool(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert outputs["DashboardUrl"]["Value"] == {"Fn::Sub": "${DashboardApi.ApiEndpoint}/dashboard"}
    assert outputs["OrganizerUserPoolId"]["Value"] == {"Ref": "OrganizerUserPool"}


def test_the_sam_transform_keeps_the_jwt_authorizer_and_the_routes() -> None:
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    template = load_template(ROOT / "template.yaml")
    template["Globals"]["Function"]["CodeUri"] = "s3://bucket/code.zip"
    template["Resources"]["FfmpegLayer"]["Properties"]["ContentUri"] = "s3://bucket/ffmpeg.zip"
    result = transform(template, {"AWS::Region": "us-east-1"}, NoManagedPolicies())
    resources = result["Resources"]
    authorizers = [r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Authorizer"]
    assert [a["Properties"]["AuthorizerType"] for a in authorizers] == ["JWT"]
    assert resources["DashboardFunction"]["Type"] == "AWS::Lambda::Function"
    assert resources["DashboardFunction"]["Properties"]["Handler"] == "handlers.dashboard.handler"
    routes = [r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Route"]
    assert len(routes) == len(PUBLIC_ROUTES | PROTECTED_ROUTES)


def test_the_client_and_the_api_have_no_circular_dependency(template: dict[str, Any]) -> None:
    def references(node: Any) -> set[str]:
        found: set[str] = set()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "Ref" and isinstance(value, str):
                    found.add(value)
                elif key == "Fn::GetAtt":
                    found.add(value[0] if isinstance(value, list) else value.split(".")[0])
                elif key == "Fn::Sub":
                    text = value[0] if isinstance(value, list) else value
                    found |= {part.split("}")[0].split(".")[0] for part in text.split("${")[1:]}
                found |= references(value)
        elif isinstance(node, list):
            for item in node:
                found |= references(item)
        return found

    resources = _resources(template)
    assert not {r for r in references(resources["DashboardApi"]) if not r.startswith("AWS::")}
    assert "DashboardApi" in references(resources["OrganizerUserPoolClient"])
