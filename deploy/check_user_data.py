"""Checks the instances' user data in stack.yaml without AWS (run by scripts/stack-checks.sh).

For each launch template: the user data, with every ${...} of its Fn::Sub filled with a
placeholder, is valid bash; so is every shell script it writes (`cat >FILE <<'EOF'`); every
systemd unit it writes has the sections systemd needs; and `/opt/backspin/run` is run for real
with a stub `aws` and a stub binary, to see that it starts the binary with the arguments the
unit gives, DATABASE_URL built from a master secret whose password needs escaping (and TLS
verified against the RDS bundle), the secret's version recorded for the rotation check, and,
on the web tier, BACKSPIN_SECRET and the Cognito client secret in the environment.

Usage: python check_user_data.py stack.yaml  (needs PyYAML, which cfn-lint brings)
"""

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import urllib.parse

import yaml


class CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {("Ref" if suffix == "Ref" else "Fn::" + suffix): value}


CfnLoader.add_multi_constructor("!", _tag)

PASSWORD = "p@ss:w/rd?#%&'\"$ x"
SECRET = {"username": "backspin", "password": PASSWORD}
STUB_AWS = r"""#!/bin/bash
# A stand-in for the AWS CLI: answers the calls /opt/backspin/run makes.
case "$*" in
  *"secretsmanager get-secret-value --secret-id x-Database.MasterUserSecret.SecretArn --output json"*)
    python3 -c 'import json, sys; print(json.dumps({"VersionId": "v-1", "SecretString": sys.argv[1]}))' "$SECRET_JSON" ;;
  *"secretsmanager get-secret-value --secret-id x-AppSecret --query SecretString --output text"*)
    echo app-secret-0123456789abcdef0123456789abcdef ;;
  *"cognito-idp describe-user-pool-client --user-pool-id x-UserPool --client-id x-UserPoolClient"*)
    echo cognito-client-secret ;;
  *) echo "unexpected aws call: $*" >&2; exit 1 ;;
esac
"""
STUB_BINARY = r"""#!/bin/bash
python3 -c 'import json, os, sys; print(json.dumps({"args": sys.argv[1:], "env": dict(os.environ)}))' "$@"
"""


def render(sub):
    """The Fn::Sub string with each ${Name} replaced by x-Name and ${!Literal} unescaped."""
    text = sub if isinstance(sub, str) else sub[0]
    text = re.sub(r"\$\{(?!!)([A-Za-z0-9:.]+)\}", lambda m: "x-" + m.group(1), text)
    return text.replace("${!", "${")


def files_written(script):
    """{path: content} of every `cat >PATH <<'EOF'` in the script."""
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r"^cat >(\S+) <<'EOF'\n(.*?)^EOF$", script, re.M | re.S)
    }


def bash_syntax(name, text, problems):
    result = subprocess.run(["bash", "-n"], input=text, text=True, capture_output=True)
    if result.returncode != 0:
        problems.append(f"{name}: bash -n: {result.stderr.strip()}")


def check_template(name, script, all_problems):
    problems = []
    _check_template(name, script, problems)
    all_problems.extend(problems)
    if not problems:
        print(f"  {name}: its user data and scripts parse, and /opt/backspin/run starts backspin as its unit says, with DATABASE_URL and the secrets")


def _check_template(name, script, problems):
    bash_syntax(f"{name} user data", script, problems)
    files = files_written(script)
    for path in ("/etc/backspin/backspin.env", "/opt/backspin/run", "/etc/systemd/system/backspin.service"):
        if path not in files:
            problems.append(f"{name}: the user data writes no {path}")
    for path, content in files.items():
        if content.startswith("#!/bin/bash"):
            bash_syntax(f"{name} {path}", content, problems)
        if path.endswith(".service") and not ("[Service]" in content and "ExecStart=" in content):
            problems.append(f"{name} {path}: no [Service] with ExecStart=")
        if path.endswith(".timer") and "[Timer]" not in content:
            problems.append(f"{name} {path}: no [Timer]")
        if path.endswith((".service", ".timer")) and "[Install]" in content and "WantedBy=" not in content:
            problems.append(f"{name} {path}: [Install] without WantedBy=")
    if problems or "/opt/backspin/run" not in files:
        return
    unit = files["/etc/systemd/system/backspin.service"]
    exec_start = re.search(r"^ExecStart=/opt/backspin/run (.*)$", unit, re.M)
    if not exec_start:
        problems.append(f"{name}: backspin.service does not start /opt/backspin/run")
        return
    args = shlex.split(exec_start.group(1))
    env_file = dict(
        line.split("=", 1) for line in files["/etc/backspin/backspin.env"].splitlines() if "=" in line
    )
    with tempfile.TemporaryDirectory() as tmp:
        bin_dir = os.path.join(tmp, "bin")
        run_dir = os.path.join(tmp, "run")
        os.makedirs(bin_dir)
        os.makedirs(run_dir)
        for file_name, content in (("aws", STUB_AWS), ("backspin", STUB_BINARY)):
            with open(os.path.join(bin_dir, file_name), "w") as f:
                f.write(content)
            os.chmod(os.path.join(bin_dir, file_name), 0o755)
        run = files["/opt/backspin/run"].replace("/opt/backspin/backspin", os.path.join(bin_dir, "backspin"))
        env = {
            "PATH": bin_dir + os.pathsep + os.environ["PATH"],
            "RUNTIME_DIRECTORY": run_dir,
            "SECRET_JSON": json.dumps(SECRET),
            **env_file,
        }
        result = subprocess.run(["bash", "-c", run, "run", *args], env=env, text=True, capture_output=True)
        if result.returncode != 0:
            problems.append(f"{name}: /opt/backspin/run failed: {result.stderr.strip()}")
            return
        started = json.loads(result.stdout)
        version = open(os.path.join(run_dir, "db-secret-version")).read().strip()
    if started["args"] != args:
        problems.append(f"{name}: backspin got {started['args']}, the unit says {args}")
    url = urllib.parse.urlsplit(started["env"].get("DATABASE_URL", ""))
    query = urllib.parse.parse_qs(url.query)
    wanted = {
        "scheme": ("postgres", url.scheme),
        "user": ("backspin", urllib.parse.unquote(url.username or "")),
        "password": (PASSWORD, urllib.parse.unquote(url.password or "")),
        "host": ("x-database.endpoint.address", url.hostname),
        "database": ("/backspin", url.path),
        "sslmode": (["verify-full"], query.get("sslmode")),
        "sslrootcert": (["/opt/backspin/rds-ca.pem"], query.get("sslrootcert")),
    }
    for what, (expected, got) in wanted.items():
        if expected != got:
            problems.append(f"{name}: DATABASE_URL {what} is {got!r}, wanted {expected!r}")
    if version != "v-1":
        problems.append(f"{name}: recorded secret version {version!r}, wanted 'v-1'")
    if "serve" in args:
        for var, expected in (
            ("BACKSPIN_SECRET", "app-secret-0123456789abcdef0123456789abcdef"),
            ("BACKSPIN_COGNITO_CLIENT_SECRET", "cognito-client-secret"),
            ("BACKSPIN_SECURE_COOKIES", "1"),
            ("BACKSPIN_TRUST_FORWARDED_FOR", "1"),
        ):
            if started["env"].get(var) != expected:
                problems.append(f"{name}: {var} is {started['env'].get(var)!r}, wanted {expected!r}")


def main():
    template = yaml.load(open(sys.argv[1]), Loader=CfnLoader)
    problems = []
    launch_templates = {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::EC2::LaunchTemplate"
    }
    if not launch_templates:
        problems.append("no launch template in the stack")
    for name, resource in launch_templates.items():
        user_data = resource["Properties"]["LaunchTemplateData"].get("UserData", {})
        sub = user_data.get("Fn::Base64", {}).get("Fn::Sub") if isinstance(user_data, dict) else None
        if sub is None:
            problems.append(f"{name}: UserData is not Fn::Base64 of an Fn::Sub")
            continue
        check_template(name, render(sub), problems)
    for p in problems:
        print("  PROBLEM " + p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
