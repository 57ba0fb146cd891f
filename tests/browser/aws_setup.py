"""Makes Backspin's AWS resources on a moto server as stack.yaml makes them, and prints the
settings for `backspin serve`, one KEY=value a line (for `env`).

    python aws_setup.py http://127.0.0.1:PORT

Run with the Python of moto's virtual environment (scripts/moto.sh), which has boto3:
the uploads bucket with "object created" events to the ingest queue, the ingest queue with
its dead-letter queue (redrive after 5 receives, as queue-config says), the admins' topic, and
a Cognito user pool and app client with stack.yaml's settings (e-mail as user name, a
client secret, 8-character passwords).
"""

import json
import sys

import boto3

endpoint = sys.argv[1]
region = "us-east-1"
kw = dict(endpoint_url=endpoint, region_name=region,
          aws_access_key_id="testing", aws_secret_access_key="testing")
s3, sqs, sns, idp = (boto3.client(s, **kw) for s in ("s3", "sqs", "sns", "cognito-idp"))

bucket = "backspin-uploads"
s3.create_bucket(Bucket=bucket)
dlq = sqs.create_queue(QueueName="backspin-ingest-dead")["QueueUrl"]
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
queue = sqs.create_queue(QueueName="backspin-ingest", Attributes={
    "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})})["QueueUrl"]
queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
    "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]})
topic = sns.create_topic(Name="backspin-alerts")["TopicArn"]
pool = idp.create_user_pool(
    PoolName="backspin-users",
    UsernameAttributes=["email"],
    AutoVerifiedAttributes=["email"],
    Policies={"PasswordPolicy": {"MinimumLength": 8, "RequireLowercase": False,
                                 "RequireUppercase": False, "RequireNumbers": False,
                                 "RequireSymbols": False}},
    AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
)["UserPool"]["Id"]
client = idp.create_user_pool_client(
    UserPoolId=pool, ClientName="backspin-web", GenerateSecret=True,
    ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
)["UserPoolClient"]

settings = {
    "AWS_REGION": region,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "BACKSPIN_AWS_ENDPOINT_URL": endpoint,
    "BACKSPIN_S3_BUCKET": bucket,
    "BACKSPIN_SQS_QUEUE_URL": queue,
    "BACKSPIN_SQS_DEAD_LETTER_QUEUE_URL": dlq,
    "BACKSPIN_SNS_TOPIC_ARN": topic,
    "BACKSPIN_COGNITO_USER_POOL_ID": pool,
    "BACKSPIN_COGNITO_CLIENT_ID": client["ClientId"],
    "BACKSPIN_COGNITO_CLIENT_SECRET": client["ClientSecret"],
    # moto names AWS's issuer in its tokens but serves the keys itself.
    "BACKSPIN_COGNITO_ISSUER": f"https://cognito-idp.{region}.amazonaws.com/{pool}",
    "BACKSPIN_COGNITO_JWKS_URL": f"{endpoint}/{pool}/.well-known/jwks.json",
}
for k, v in settings.items():
    assert "\n" not in v, (k, v)
    print(f"{k}={v}")
