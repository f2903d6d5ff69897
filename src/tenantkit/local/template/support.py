"""What ``tenantkit local`` reproduces, as data: sections, resource types, properties.

Each resource type lists the properties it uses and those it accepts with no local
effect (``Tracing``, ``Policies``...: see ``docs/local.md``). Anything else fails at load
time, naming the construct, rather than being silently ignored.
"""

from __future__ import annotations

__all__ = [
    "AUTHORIZER_KEYS",
    "BACKEND_TYPES",
    "EVENT_PROPERTIES",
    "GETATT",
    "GLOBALS",
    "IDENTITY_KEYS",
    "IMPLICIT_API",
    "IMPLICIT_STAGE",
    "PROPERTIES",
    "RESOURCE_KEYS",
    "SERVERLESS_TRANSFORM",
    "TOP_LEVEL",
]

SERVERLESS_TRANSFORM = "AWS::Serverless-2016-10-31"
IMPLICIT_API = "ServerlessRestApi"
IMPLICIT_STAGE = "Prod"

TOP_LEVEL = {
    "AWSTemplateFormatVersion",
    "Transform",
    "Description",
    "Metadata",
    "Parameters",
    "Globals",
    "Resources",
    "Outputs",  # never evaluated: nothing local reads them
}
RESOURCE_KEYS = {
    "Type",
    "Properties",
    "DependsOn",
    "Metadata",
    "DeletionPolicy",
    "UpdateReplacePolicy",
}

# type -> (properties it uses, properties accepted with no local effect)
PROPERTIES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "AWS::Serverless::Function": (
        frozenset(
            {"Handler", "Runtime", "CodeUri", "Environment", "Events", "FunctionName"}
            | {"Timeout", "MemorySize", "ReservedConcurrentExecutions", "TenancyConfig"}
        ),
        frozenset(
            {
                "Architectures",
                "AutoPublishAlias",
                "Description",
                "EphemeralStorage",
                "LoggingConfig",
                "Policies",
                "Role",
                "Tags",
                "Tracing",
            }
        ),
    ),
    "AWS::Serverless::Api": (
        frozenset({"StageName", "Auth", "Variables", "DefinitionBody", "DefinitionUri"}),
        frozenset(
            {
                "AccessLogSetting",
                "CacheClusterEnabled",
                "CacheClusterSize",
                "Description",
                "EndpointConfiguration",
                "MethodSettings",
                "Name",
                "OpenApiVersion",
                "Tags",
                "TracingEnabled",
            }
        ),
    ),
    "AWS::DynamoDB::Table": (
        frozenset(
            {
                "AttributeDefinitions",
                "BillingMode",
                "GlobalSecondaryIndexes",
                "KeySchema",
                "LocalSecondaryIndexes",
                "ProvisionedThroughput",
                "TableName",
                "Tags",
            }
        ),
        frozenset(
            {
                "ContributorInsightsSpecification",
                "DeletionProtectionEnabled",
                "PointInTimeRecoverySpecification",
                "SSESpecification",
                "TableClass",
                "TimeToLiveSpecification",
            }
        ),
    ),
    "AWS::SQS::Queue": (
        frozenset(
            {
                "ContentBasedDeduplication",
                "DelaySeconds",
                "FifoQueue",
                "MaximumMessageSize",
                "MessageRetentionPeriod",
                "QueueName",
                "ReceiveMessageWaitTimeSeconds",
                "RedrivePolicy",
                "Tags",
                "VisibilityTimeout",
            }
        ),
        frozenset({"KmsDataKeyReusePeriodSeconds", "KmsMasterKeyId", "SqsManagedSseEnabled"}),
    ),
    "AWS::SNS::Topic": (
        frozenset({"ContentBasedDeduplication", "DisplayName", "FifoTopic", "TopicName", "Tags"}),
        frozenset({"KmsMasterKeyId"}),
    ),
    "AWS::SecretsManager::Secret": (
        frozenset({"Description", "GenerateSecretString", "Name", "SecretString", "Tags"}),
        frozenset({"KmsKeyId"}),
    ),
    # API Gateway's access logs and the account's logging role: nothing local uses them.
    "AWS::Logs::LogGroup": (
        frozenset(),
        frozenset(
            {"DataProtectionPolicy", "KmsKeyId", "LogGroupClass", "LogGroupName"}
            | {"RetentionInDays", "Tags"}
        ),
    ),
    "AWS::IAM::Role": (
        frozenset(),
        frozenset(
            {"AssumeRolePolicyDocument", "Description", "ManagedPolicyArns"}
            | {"MaxSessionDuration", "Path", "PermissionsBoundary", "Policies", "RoleName", "Tags"}
        ),
    ),
    "AWS::ApiGateway::Account": (frozenset(), frozenset({"CloudWatchRoleArn"})),
    # State machines run on moto's interpreter with every permission: roles and policies
    # have no local effect (local/stepfunctions.py).
    "AWS::Serverless::StateMachine": (
        frozenset({"Definition", "DefinitionUri", "DefinitionSubstitutions", "Name", "Type"}),
        frozenset(
            {"Logging", "PermissionsBoundary", "Policies", "Role", "RolePath", "Tags", "Tracing"}
        ),
    ),
    "AWS::StepFunctions::StateMachine": (
        frozenset(
            {"Definition", "DefinitionString", "DefinitionSubstitutions"}
            | {"StateMachineName", "StateMachineType"}
        ),
        frozenset(
            {"EncryptionConfiguration", "LoggingConfiguration", "RoleArn", "Tags"}
            | {"TracingConfiguration"}
        ),
    ),
    # Rules match on moto's events backend and deliver through local/events.py.
    "AWS::Events::EventBus": (
        frozenset({"Name"}),
        frozenset({"DeadLetterConfig", "Description", "KmsKeyIdentifier", "Policy", "Tags"}),
    ),
    "AWS::Events::Rule": (
        frozenset({"EventBusName", "EventPattern", "Name", "State", "Targets"}),
        frozenset({"Description", "RoleArn"}),
    ),
}

# type -> attributes Fn::GetAtt may read
GETATT: dict[str, frozenset[str]] = {
    "AWS::Serverless::Function": frozenset({"Arn"}),
    "AWS::DynamoDB::Table": frozenset({"Arn"}),
    "AWS::SQS::Queue": frozenset({"Arn", "QueueName", "QueueUrl"}),
    "AWS::SNS::Topic": frozenset({"TopicArn", "TopicName"}),
    "AWS::SecretsManager::Secret": frozenset({"Id"}),
    # only from properties with no local effect (AccessLogSetting, CloudWatchRoleArn)
    "AWS::Logs::LogGroup": frozenset({"Arn"}),
    "AWS::IAM::Role": frozenset({"Arn"}),
    "AWS::Serverless::StateMachine": frozenset({"Arn", "Name"}),
    "AWS::StepFunctions::StateMachine": frozenset({"Arn", "Name"}),
    "AWS::Events::EventBus": frozenset({"Arn", "Name"}),
    "AWS::Events::Rule": frozenset({"Arn"}),
}
BACKEND_TYPES = (
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::SecretsManager::Secret",
)
GLOBALS = {"Function": "AWS::Serverless::Function", "Api": "AWS::Serverless::Api"}

# function event type -> (properties it uses, properties accepted with no local effect)
EVENT_PROPERTIES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "Api": (frozenset({"Path", "Method", "RestApiId", "Auth"}), frozenset()),
    "SQS": (
        frozenset({"Queue", "BatchSize", "Enabled", "FunctionResponseTypes"}),
        frozenset({"MaximumBatchingWindowInSeconds", "ScalingConfig"}),
    ),
}
# a Lambda authorizer of AWS::Serverless::Api Auth.Authorizers, and its Identity
AUTHORIZER_KEYS = {"FunctionArn", "FunctionPayloadType", "Identity", "FunctionInvokeRole"}
IDENTITY_KEYS = {"Headers", "QueryStrings", "ReauthorizeEvery", "Header", "ValidationExpression"}
