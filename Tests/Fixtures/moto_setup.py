"""Creates what the AWS provider tests need in a running moto_server, then proves signature checking is on.

Usage: MOTO_ENDPOINT=http://127.0.0.1:PORT python3 moto_setup.py

Makes exactly SETUP_ACTIONS authenticated-free calls (moto_server runs with INITIAL_NO_AUTH_ACTION_COUNT set to
that number, see Tests/TestSupport/MotoServer.swift): an IAM user allowed ecr:GetAuthorizationToken and
sts:AssumeRole, an access key for it, and a role (trusting any principal of the account) allowed
ecr:GetAuthorizationToken. Then it sends one request with a wrong secret and exits 1 unless moto answers
SignatureDoesNotMatch — so a test never runs against a moto that accepts anything.

Prints one JSON line on stdout: {"accessKeyId", "secretAccessKey", "roleArn", "accountId"}. Secrets leave this
process only on stdout, never in arguments.
"""
import json
import os
import sys

import boto3
import botocore

SETUP_ACTIONS = 5
REGION = "us-east-1"


def client(service, key_id="setup", secret="setup"):
    return boto3.client(service, endpoint_url=os.environ["MOTO_ENDPOINT"], region_name=REGION, aws_access_key_id=key_id,
                        aws_secret_access_key=secret)


def main():
    iam = client("iam")
    iam.create_user(UserName="ocicred-ci")
    iam.put_user_policy(UserName="ocicred-ci", PolicyName="ecr-and-assume", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken", "sts:AssumeRole",
                                                      "sts:GetCallerIdentity"], "Resource": "*"}]}))
    key = iam.create_access_key(UserName="ocicred-ci")["AccessKey"]
    role = iam.create_role(RoleName="ocicred-pull", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                       "Action": ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"]}]}))["Role"]
    iam.put_role_policy(RoleName="ocicred-pull", PolicyName="ecr-pull", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"}]}))
    # From here on moto checks every signature. Prove it with a wrong secret.
    try:
        client("sts", key["AccessKeyId"], key["SecretAccessKey"] + "x").get_caller_identity()
    except botocore.exceptions.ClientError as error:
        code = error.response["Error"]["Code"]
        if code != "SignatureDoesNotMatch":
            sys.exit(f"moto answered {code} to a wrong secret, expected SignatureDoesNotMatch")
    else:
        sys.exit("moto accepted a wrong secret: INITIAL_NO_AUTH_ACTION_COUNT does not match SETUP_ACTIONS")
    print(json.dumps({"accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"],
                      "roleArn": role["Arn"], "accountId": role["Arn"].split(":")[4]}), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--actions":
        print(SETUP_ACTIONS)
    else:
        main()
