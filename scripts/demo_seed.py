"""Seeds a moto server with sample AWS API Gateway content for the demo (scripts/demo).

Three REST APIs: two are in usage plans (one with two stages), one is in no usage plan and is
therefore not discovered by default (the agent's `discover` command explains why). One HTTP API
(API Gateway v2) whose routes use a JWT authorizer: with `apiTypes: REST,HTTP` it is discovered
next to the REST APIs, with an OAuth2 plan.
Usage: demo_seed.py <endpoint-url>            seeds, and prints `http-api <apiId> <authorizerId>`
       demo_seed.py <endpoint-url> audience <apiId> <authorizerId>   prints the audience
"""

import sys

import boto3

endpoint = sys.argv[1]
session = dict(
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="demo",
    aws_secret_access_key="demo-secret",
)
client = boto3.client("apigateway", **session)
v2 = boto3.client("apigatewayv2", **session)

if len(sys.argv) > 2 and sys.argv[2] == "audience":
    authorizer = v2.get_authorizer(ApiId=sys.argv[3], AuthorizerId=sys.argv[4])
    print(sorted(authorizer["JwtConfiguration"]["Audience"]))
    sys.exit(0)


def rest_api(api_id, name, description, stages):
    api = client.create_rest_api(name=name, description=description, tags={"_custom_id_": api_id})
    root = client.get_resources(restApiId=api["id"])["items"][0]["id"]
    client.put_method(
        restApiId=api["id"], resourceId=root, httpMethod="GET",
        authorizationType="NONE", apiKeyRequired=True,
    )
    client.put_integration(restApiId=api["id"], resourceId=root, httpMethod="GET", type="MOCK")
    for stage in stages:
        client.create_deployment(restApiId=api["id"], stageName=stage)
    return api["id"]


pets = rest_api("petstore", "Petstore", "Pets for sale", ["prod", "test"])
orders = rest_api("orders", "Orders", "Order management", ["prod"])
rest_api("internal", "Internal tools", "Not in any usage plan", ["prod"])

client.create_usage_plan(
    name="Gold", description="For partners",
    apiStages=[{"apiId": pets, "stage": "prod"}, {"apiId": orders, "stage": "prod"}],
    throttle={"rateLimit": 100.0, "burstLimit": 200},
    quota={"limit": 100000, "period": "MONTH"},
)
client.create_usage_plan(
    name="Free", description="Try it out",
    apiStages=[{"apiId": pets, "stage": "prod"}, {"apiId": pets, "stage": "test"}],
    throttle={"rateLimit": 5.0, "burstLimit": 10},
    quota={"limit": 1000, "period": "DAY"},
)

# An HTTP API: two routes behind a JWT authorizer (its audience holds the portal's client id).
orders_v2 = v2.create_api(
    Name="Orders v2", ProtocolType="HTTP", Description="Orders on an HTTP API",
    Tags={"team": "orders"},
)["ApiId"]
authorizer = v2.create_authorizer(
    ApiId=orders_v2, Name="orders-jwt", AuthorizerType="JWT",
    IdentitySource=["$request.header.Authorization"],
    JwtConfiguration={"Audience": ["demo-portal"], "Issuer": "https://auth.example.com/"},
)["AuthorizerId"]
integration = v2.create_integration(
    ApiId=orders_v2, IntegrationType="HTTP_PROXY", IntegrationMethod="ANY",
    IntegrationUri="https://orders.internal.example/", PayloadFormatVersion="1.0",
)["IntegrationId"]
for route, scope in [("GET /orders", "orders:read"), ("POST /orders", "orders:write")]:
    v2.create_route(
        ApiId=orders_v2, RouteKey=route, Target=f"integrations/{integration}",
        AuthorizationType="JWT", AuthorizerId=authorizer, AuthorizationScopes=[scope],
    )
v2.create_stage(ApiId=orders_v2, StageName="prod")
print("seeded: 3 REST APIs (4 stages), 2 usage plans, 1 HTTP API with a JWT authorizer")
print(f"http-api {orders_v2} {authorizer}")
