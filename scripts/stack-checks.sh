#!/usr/bin/env bash
# The checks on stack.yaml (issue #6), run by scripts/test.sh and on their own:
#
#   1. cfn-lint, clean (no error, warning or informational finding);
#   2. checkov, passing: every check it fails is skipped on its resource in stack.yaml
#      (Metadata.checkov.skip) with a reason, and a skip without a reason fails here;
#   3. cfn-guard with our rules (deploy/guard/*.guard): stack.yaml passes every rule (none
#      skipped), and each fixture in deploy/guard/fixtures/ fails exactly the rules its
#      `# guard-expect:` line names, every rule being named by at least one fixture;
#   4. queue-config/tests/stack_yaml.rs: the queue and scaling values equal queue-config's;
#   5. deploy/check_user_data.py: the instances' user data and the scripts it writes parse, and
#      the start script, run with a stub AWS CLI, gives backspin its arguments, DATABASE_URL
#      and secrets.
#
# Installs what it needs under ${CARGO_TARGET_DIR:-target} (cfn-lint and checkov in a venv,
# cfn-guard with cargo install), reusing what is there; fails, never skips, when something
# cannot be installed or run.
set -euo pipefail
cd "$(dirname "$0")/.."

CFN_LINT_VERSION=1.58.0
CHECKOV_VERSION=3.3.30
CFN_GUARD_VERSION=3.2.1

step() { printf '\n==> %s\n' "$*"; }
need() { command -v "$1" >/dev/null 2>&1; }
die() { echo "scripts/stack-checks.sh: $*" >&2; exit 1; }

target="${CARGO_TARGET_DIR:-target}"
venv="$target/stack-venv"
guard_root="$target/stack-tools/cfn-guard-$CFN_GUARD_VERSION"
guard="$guard_root/bin/cfn-guard"
timings=()
started=$SECONDS
lap() { timings+=("$(printf '%-34s %4ds' "$1" $((SECONDS - started)))"); started=$SECONDS; }

step "tools for the stack checks"
need python3 || die "python3 is missing (scripts/test.sh installs it; or apt-get install python3)"
pins="cfn-lint==$CFN_LINT_VERSION checkov==$CHECKOV_VERSION"
if [ "$(cat "$venv/.pins" 2>/dev/null)" != "$pins" ] || [ ! -x "$venv/bin/cfn-lint" ] || [ ! -x "$venv/bin/checkov" ]; then
  echo "installing $pins into $venv"
  rm -rf "$venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    rm -rf "$venv"
    need apt-get || die "python3 cannot create a venv and apt-get is not available to install python3-venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv" || die "python3 -m venv $venv failed"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check $pins || die "pip install $pins failed"
  echo "$pins" >"$venv/.pins"
fi
if [ ! -x "$guard" ] || [ "$("$guard" --version 2>/dev/null)" != "cfn-guard $CFN_GUARD_VERSION" ]; then
  need cargo || die "cargo is missing: it installs cfn-guard"
  echo "installing cfn-guard $CFN_GUARD_VERSION into $guard_root (a few minutes, once)"
  rm -rf "$guard_root"
  build="$(mktemp -d "${TMPDIR:-/tmp}/cfn-guard-build.XXXXXX")"
  cargo install cfn-guard --locked --version "$CFN_GUARD_VERSION" --root "$guard_root" \
    --target-dir "$build" --quiet || { rm -rf "$build"; die "cargo install cfn-guard failed"; }
  rm -rf "$build"
fi
"$venv/bin/cfn-lint" --version
echo "checkov $("$venv/bin/checkov" --version)"
"$guard" --version
lap "tools"

step "cfn-lint stack.yaml"
"$venv/bin/cfn-lint" stack.yaml || die "cfn-lint found problems in stack.yaml"
echo "clean"
lap "cfn-lint"

step "checkov -f stack.yaml --framework cloudformation"
report="$(mktemp "${TMPDIR:-/tmp}/checkov.XXXXXX.json")"
set +e
BC_SKIP_MAPPING=TRUE "$venv/bin/checkov" -f stack.yaml --framework cloudformation --skip-download \
  --output json >"$report" 2>"$report.err"
checkov_status=$?
set -e
python3 - "$report" "$checkov_status" <<'EOF' || { cat "$report.err" >&2; rm -f "$report" "$report.err"; die "checkov did not pass"; }
import json, sys

path, status = sys.argv[1], int(sys.argv[2])
try:
    report = json.load(open(path))
except ValueError:
    sys.exit(f"checkov wrote no report (exit status {status})")
if isinstance(report, list):  # one entry per framework
    report = next((r for r in report if r.get("check_type") == "cloudformation"), {})
results = report.get("results", {})
if report.get("summary", {}).get("parsing_errors", 1):
    sys.exit(f"checkov could not parse stack.yaml: {report.get('summary')}")
passed, failed, skipped = (results.get(k, []) for k in ("passed_checks", "failed_checks", "skipped_checks"))
if not passed:
    sys.exit("checkov ran no check on stack.yaml")
for c in skipped:
    comment = (c.get("check_result") or {}).get("suppress_comment") or ""
    print(f"  skipped {c['check_id']} on {c['resource']}: {comment}")
    if not comment.strip() or comment.strip() == "No comment provided":
        failed.append(c)
        print(f"  ^ {c['check_id']} is skipped without a reason: give one in Metadata.checkov.skip[].comment")
for c in failed:
    print(f"  FAILED {c['check_id']} ({c.get('check_name', '')}) on {c['resource']}")
print(f"checkov: {len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped")
sys.exit(1 if failed or status not in (0, 1) or (status == 1 and not failed) else 0)
EOF
rm -f "$report" "$report.err"
lap "checkov"

step "cfn-guard: deploy/guard/*.guard on stack.yaml and on each fixture"
rules=(deploy/guard/*.guard)
fixtures=(deploy/guard/fixtures/*.yaml)
[ -e "${rules[0]}" ] || die "no rules in deploy/guard/"
[ -e "${fixtures[0]}" ] || die "no fixtures in deploy/guard/fixtures/"
rule_args=()
for r in "${rules[@]}"; do rule_args+=(--rules "$r"); done
out="$(mktemp -d "${TMPDIR:-/tmp}/guard.XXXXXX")"
set +e
"$guard" validate "${rule_args[@]}" --data stack.yaml --structured --output-format json \
  --show-summary none >"$out/stack.json" 2>"$out/stack.err"
echo $? >"$out/stack.status"
for f in "${fixtures[@]}"; do
  name="$(basename "$f" .yaml)"
  "$guard" validate "${rule_args[@]}" --data "$f" --structured --output-format json \
    --show-summary none >"$out/$name.json" 2>"$out/$name.err"
  echo $? >"$out/$name.status"
done
set -e
python3 - "$out" "${rules[@]}" -- "${fixtures[@]}" <<'EOF' || { rm -rf "$out"; die "the guard rules or their fixtures failed"; }
import json, os, re, sys

out = sys.argv[1]
split = sys.argv.index("--")
rule_files, fixtures = sys.argv[2:split], sys.argv[split + 1:]
# Top-level rules; parameterized helpers (`rule name(args)`) are not reported on their own.
rules = set()
for path in rule_files:
    rules |= set(re.findall(r"^rule\s+(\w+)\s*(?:when\b|\{)", open(path).read(), re.M))

def result(name):
    status = int(open(os.path.join(out, name + ".status")).read())
    err = open(os.path.join(out, name + ".err")).read().strip()
    try:
        files = json.load(open(os.path.join(out, name + ".json")))
    except ValueError:
        sys.exit(f"cfn-guard gave no report for {name} (exit status {status}): {err}")
    failed, passed, skipped = set(), set(), set()
    for f in files:
        failed |= {r["Rule"]["name"] for r in f["not_compliant"]}
        passed |= set(f["compliant"])
        skipped |= set(f["not_applicable"])
    return status, failed, passed, skipped, err

problems = []
status, failed, passed, skipped, err = result("stack")
if status != 0 or failed or (rules - passed):
    problems.append(f"stack.yaml (exit status {status}): failed {sorted(failed)}, "
                    f"skipped {sorted(rules - passed - failed)} (every rule must pass) {err}")
print(f"stack.yaml passes all {len(rules)} rules: {', '.join(sorted(rules & passed))}")

expected_anywhere = set()
for path in fixtures:
    name = os.path.basename(path)[:-len(".yaml")]
    m = re.search(r"^# guard-expect:(.*)$", open(path).read(), re.M)
    if not m or not m.group(1).split():
        problems.append(f"{path}: no `# guard-expect: rule ...` line")
        continue
    expected = set(m.group(1).split())
    unknown = expected - rules
    if unknown:
        problems.append(f"{path}: expects unknown rules {sorted(unknown)}")
    expected_anywhere |= expected
    status, failed, _, _, err = result(name)
    if status != 19:  # 19: the data failed the rules; anything else is an error or a pass
        problems.append(f"{path}: cfn-guard exit status {status}, wanted 19 (a failure) {err}")
    if failed != expected:
        problems.append(f"{path}: failed {sorted(failed)}, wanted exactly {sorted(expected)}")
    else:
        print(f"  fixture {name}: fails {', '.join(sorted(failed))}, as it should")
for rule in sorted(rules - expected_anywhere):
    problems.append(f"rule {rule} has no fixture proving it bites")
for p in problems:
    print("  PROBLEM " + p)
print(f"{len(fixtures)} fixtures, {len(problems)} problems")
sys.exit(1 if problems else 0)
EOF
rm -rf "$out"
lap "cfn-guard (stack + fixtures)"

step "stack.yaml carries queue-config's values (cargo test -p queue-config --test stack_yaml)"
cargo test -p queue-config --test stack_yaml --locked --quiet
lap "queue-config/tests/stack_yaml.rs"

step "user data (deploy/check_user_data.py)"
"$venv/bin/python" deploy/check_user_data.py stack.yaml || die "the instances' user data is broken"
lap "user data"

step "stack checks passed"
printf '  %s\n' "${timings[@]}"
