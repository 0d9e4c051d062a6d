"""Seeds a moto server with sample AWS API Gateway content for the demo (scripts/demo).

Three REST APIs: two are in usage plans (one with two stages), one is in no usage plan and is
therefore not discovered by default (the agent's `discover` command explains why).
Usage: demo_seed.py <endpoint-url>
"""

import sys

import boto3

endpoint = sys.argv[1]
client = boto3.client(
    "apigateway",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="demo",
    aws_secret_access_key="demo-secret",
)


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
print("seeded: 3 REST APIs (4 stages), 2 usage plans")
