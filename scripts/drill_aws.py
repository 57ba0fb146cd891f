"""The failure drill's step 7 (issue 19): stack.yaml created as a stack in moto's CloudFormation
(scripts/drill_stack.py, with moto's own Python), then a web process and a worker in the AWS
mode configured from the stack's outputs alone (the bucket, the ingest queue and its
dead-letter queue, the alerts topic), with uploads through them: histories end ready with
their plays; a file that is not one ends failed, and its alert reaches the topic.

Used by scripts/drill_kit.py.
"""

import json
import os
import socket
import subprocess
import time

import drill_kit

HERE = os.path.dirname(os.path.abspath(__file__))


def step_stack(cluster, pg, summary, moto_server, users):
    work = os.path.join(cluster.work, "aws")
    os.makedirs(work, exist_ok=True)
    python = os.path.join(os.path.dirname(moto_server), "python")
    port = drill_kit.free_port()
    endpoint = f"http://127.0.0.1:{port}"
    cluster.procs["moto"] = subprocess.Popen(
        [moto_server, "-H", "127.0.0.1", "-p", str(port)],
        stdout=cluster.log("moto"), stderr=subprocess.STDOUT,
    )
    drill_kit.wait_until("moto's server answering", lambda: socket.create_connection(("127.0.0.1", port), 1).close() is None)

    def stack_tool(*args):
        out = subprocess.run(
            [python, os.path.join(HERE, "drill_stack.py"), *args, "--endpoint", endpoint],
            check=True, capture_output=True, text=True,
        )
        return out.stdout.strip()

    started = time.monotonic()
    stack = json.loads(stack_tool("create", "--template", os.path.join(HERE, "..", "stack.yaml"), "--work", work))
    if stack["status"] != "CREATE_COMPLETE":
        summary["steps"]["7-stack-in-moto"] = {"stack": stack, "ok": False}
        return
    out = stack["outputs"]
    inbox = stack_tool("inbox", "--topic", out["AlertsTopicArn"])

    # The app, from the stack's outputs.
    pg.query("CREATE DATABASE backspin_aws", database=pg.at("postgres"))
    aws = [
        "--database-url", pg.at("backspin_aws"),
        "--s3-bucket", out["UploadsBucketName"],
        "--sqs-queue-url", out["IngestQueueUrl"],
        "--sqs-dead-letter-queue-url", out["DeadLetterQueueUrl"],
        "--sns-topic-arn", out["AlertsTopicArn"],
        "--aws-endpoint-url", endpoint,
    ]
    env = dict(os.environ, AWS_ACCESS_KEY_ID="drill", AWS_SECRET_ACCESS_KEY="drill", AWS_REGION="us-east-1")
    # Migrated once before the processes start, as a release is (two processes migrating an
    # empty database at once collide).
    subprocess.run(
        [cluster.binary, "migrate", "--database-url", pg.at("backspin_aws"), "--data-dir", os.path.join(work, "web-data")],
        check=True, stdout=subprocess.DEVNULL,
    )
    web_port = drill_kit.free_port()
    cluster.procs["aws-web"] = subprocess.Popen(
        [cluster.binary, "serve", "--no-workers", "--bind", f"127.0.0.1:{web_port}",
         "--data-dir", os.path.join(work, "web-data"), "--secret", cluster.secret, *aws],
        stdout=cluster.log("aws-web"), stderr=subprocess.STDOUT, env=env,
    )
    cluster.procs["aws-worker"] = subprocess.Popen(
        [cluster.binary, "worker", "--data-dir", os.path.join(work, "worker-data"), *aws],
        stdout=cluster.log("aws-worker"), stderr=subprocess.STDOUT, env=env,
    )
    base = f"http://127.0.0.1:{web_port}"
    drill_kit.wait_until("the AWS-mode web process ready", lambda: drill_kit.http_status(base + "/readyz") == 200)
    serving_s = time.monotonic() - started

    # Uploads through it: the object goes to S3, S3's event to SQS, the worker ingests it.
    t = time.monotonic()
    sent = [
        drill_kit.send_small(base, None, f"aws-{i}", browser=drill_kit.signed_up(base, f"127.0.40.{i + 1}", f"aws{i}@example.com"))
        for i in range(users)
    ]
    drill_kit.wait_ready(pg_at(pg, "backspin_aws"), [u for _, u in sent], "the uploads through the stack", timeout=120)
    ready_s = time.monotonic() - t
    wrong = []
    for b, u in sent:
        mine = drill_kit.uploads_of(b)
        plays = [(m.get("summary") or {}).get("plays") for m in mine]
        if [m["id"] for m in mine] != [u] or plays != [40]:
            wrong.append(f"{u}: {len(mine)} uploads, plays {plays}")
    keys = stack_keys(pg_at(pg, "backspin_aws"), [u for _, u in sent])

    # A file that is not a history: failed, and the admins told through the topic.
    b = drill_kit.signed_up(base, "127.0.41.1", "aws-bad@example.com")
    status, data = b.request("POST", "/api/v1/uploads?name=notes.json", b'{"not": "a history"}',
                             {"Content-Type": "application/octet-stream"})
    bad = json.loads(data)["upload"]["id"] if status == 202 else None
    drill_kit.wait_until(
        "the bad upload failed",
        lambda: pg_at(pg, "backspin_aws").states([bad]).get(bad) == "failed", timeout=60,
    )
    alerts = []
    drill_kit.wait_until(
        "the alert delivered through the topic",
        lambda: alerts.extend(json.loads(stack_tool("read", "--queue", inbox))) or alerts, timeout=30, every=0.5,
    )
    # `backspin recover` lists the bucket (S3's ListObjectsV2): every upload has its row, so
    # it finds the objects and has nothing to do.
    recovered = json.loads(subprocess.run(
        [cluster.binary, "recover", "--data-dir", os.path.join(work, "worker-data"), *aws, "--json", "--no-wait"],
        check=True, capture_output=True, text=True, env=env,
    ).stdout.strip().splitlines()[-1])
    recover_idle = recovered["objects"] == len(sent) + 1 and not any(
        recovered[k] for k in ("recreated", "requeued", "repointed", "deleted", "owner_unknown")
    )
    for name in ("aws-web", "aws-worker", "moto"):
        cluster.kill(name)
    summary["steps"]["7-stack-in-moto"] = {
        "stack": stack,
        "app_configured_from_outputs": ["UploadsBucketName", "IngestQueueUrl", "DeadLetterQueueUrl", "AlertsTopicArn"],
        "serving_s": round(serving_s, 1),
        "uploads": len(sent),
        "ready_s": round(ready_s, 2),
        "stored_under": keys,
        "wrong": wrong,
        "alerts": alerts,
        "recover_on_s3": {k: v if isinstance(v, int) else len(v) for k, v in recovered.items()},
        "ok": not wrong and recover_idle and len(sent) == users and stack["queue"]["dead_letters_to_the_dead_letter_queue"]
        and any("could not be read" in (a or "") for a in alerts),
    }


def pg_at(pg, database):
    return drill_kit.Pg(pg.bin, pg.at(database))


def stack_keys(pg, ids):
    listed = ",".join(f"'{u}'" for u in ids)
    return [r[0] for r in pg.query(f"SELECT object_key FROM uploads WHERE id IN ({listed}) ORDER BY object_key")]
