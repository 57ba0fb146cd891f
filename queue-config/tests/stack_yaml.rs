//! `stack.yaml` carries the values queue-config says it must ([`cloudformation_values`]).
//!
//! Resources are found by role: a resource plays a role when its `Metadata` has
//! `backspin-role: <role>` ("ingest queue", "dead-letter queue", "worker group", "worker
//! scaling policy"), and exactly one resource plays each role. A value matches when the
//! resource of that role has the value's CloudFormation type and its (dotted) property holds
//! the value as an integer, written as a YAML number or a string of digits.

use std::collections::BTreeMap;
use std::path::PathBuf;

use queue_config::{StackValue, cloudformation_values};
use serde_norway::{Mapping, Value};

const ROLES: [&str; 4] = [
    "ingest queue",
    "dead-letter queue",
    "worker group",
    "worker scaling policy",
];

fn stack_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../stack.yaml")
}

fn parse(text: &str) -> Value {
    serde_norway::from_str(text).expect("stack.yaml parses as YAML")
}

fn template() -> Value {
    let path = stack_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    parse(&text)
}

fn resources(template: &Value) -> &Mapping {
    template
        .get("Resources")
        .and_then(Value::as_mapping)
        .expect("stack.yaml has a Resources mapping")
}

/// The logical ids and bodies of the resources that play `role`.
fn with_role<'a>(template: &'a Value, role: &str) -> Vec<(&'a str, &'a Value)> {
    resources(template)
        .iter()
        .filter(|(_, resource)| {
            resource
                .get("Metadata")
                .and_then(|m| m.get("backspin-role"))
                .and_then(Value::as_str)
                == Some(role)
        })
        .map(|(id, resource)| (id.as_str().expect("logical ids are strings"), resource))
        .collect()
}

/// The one resource that plays `role`: its logical id and body.
fn the_one(template: &Value, role: &str) -> Result<(String, Value), String> {
    match with_role(template, role).as_slice() {
        [(id, resource)] => Ok(((*id).to_owned(), (*resource).clone())),
        [] => Err(format!("no resource has `backspin-role: {role}`")),
        many => Err(format!(
            "{} resources have `backspin-role: {role}`: {:?}",
            many.len(),
            many.iter().map(|(id, _)| *id).collect::<Vec<_>>()
        )),
    }
}

/// `Properties.<dotted path>` of a resource.
fn property<'a>(resource: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted
        .split('.')
        .try_fold(resource.get("Properties")?, |value, key| value.get(key))
}

/// An integer as the template writes it: a YAML integer, or a string of digits (CloudFormation
/// types some integers, such as an Auto Scaling group's sizes, as strings).
fn integer_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<u64>().ok().map(|n| n.to_string())
        }
        _ => None,
    }
}

/// An intrinsic function, short form (`!Ref X`) or long form (`{Ref: X}`, `{Fn::GetAtt: …}`):
/// its name without `Fn::` (`Ref`, `GetAtt`, `Sub`) and its argument.
fn intrinsic(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            Some((tag.trim_start_matches('!').to_owned(), &tagged.value))
        }
        Value::Mapping(m) if m.len() == 1 => {
            let (key, argument) = m.iter().next()?;
            let name = key.as_str()?;
            (name == "Ref" || name.starts_with("Fn::"))
                .then(|| (name.trim_start_matches("Fn::").to_owned(), argument))
        }
        _ => None,
    }
}

/// The logical id a `Ref` names.
fn ref_to(value: &Value) -> Option<&str> {
    match intrinsic(value)? {
        (name, Value::String(id)) if name == "Ref" => Some(id),
        _ => None,
    }
}

/// `(logical id, attribute)` of a `GetAtt`, in either form (`X.Arn` or `[X, Arn]`).
fn get_att(value: &Value) -> Option<(String, String)> {
    let (name, argument) = intrinsic(value)?;
    if name != "GetAtt" {
        return None;
    }
    match argument {
        Value::String(s) => {
            let (id, attribute) = s.split_once('.')?;
            Some((id.to_owned(), attribute.to_owned()))
        }
        Value::Sequence(parts) => match parts.as_slice() {
            [id, attribute] => Some((id.as_str()?.to_owned(), attribute.as_str()?.to_owned())),
            _ => None,
        },
        _ => None,
    }
}

/// What is wrong with one value in the template, if anything.
fn check(template: &Value, wanted: &StackValue) -> Option<String> {
    let what = format!(
        "{} ({} {}.{})",
        wanted.name, wanted.role, wanted.resource_type, wanted.property
    );
    let (id, resource) = match the_one(template, wanted.role) {
        Ok(found) => found,
        Err(e) => return Some(format!("{what}: {e}")),
    };
    let resource_type = resource.get("Type").and_then(Value::as_str);
    if resource_type != Some(wanted.resource_type) {
        return Some(format!(
            "{what}: {id} is {resource_type:?}, not {}",
            wanted.resource_type
        ));
    }
    match property(&resource, wanted.property) {
        None => Some(format!("{what}: {id} has no {}", wanted.property)),
        Some(value) => match integer_text(value) {
            Some(text) if text == wanted.value => None,
            _ => Some(format!(
                "{what}: {id} has {value:?}, queue-config says {}",
                wanted.value
            )),
        },
    }
}

fn mismatches(template: &Value) -> Vec<String> {
    cloudformation_values()
        .iter()
        .filter_map(|wanted| check(template, wanted))
        .collect()
}

#[test]
fn every_queue_config_value_sits_on_its_resource() {
    let problems = mismatches(&template());
    assert!(
        problems.is_empty(),
        "stack.yaml disagrees with queue-config (change both together):\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn every_role_is_known_and_played_once() {
    let template = template();
    let mut played: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, resource) in resources(&template) {
        if let Some(role) = resource
            .get("Metadata")
            .and_then(|m| m.get("backspin-role"))
        {
            let role = role.as_str().expect("backspin-role is a string");
            played
                .entry(role.to_owned())
                .or_default()
                .push(id.as_str().unwrap_or_default().to_owned());
        }
    }
    let roles_in_values: Vec<&str> = cloudformation_values().iter().map(|v| v.role).collect();
    for role in ROLES {
        assert!(
            roles_in_values.contains(&role),
            "queue-config no longer uses role {role:?}"
        );
        assert_eq!(
            played.get(role).map(Vec::len),
            Some(1),
            "exactly one resource plays {role:?}: {played:?}"
        );
    }
    for role in played.keys() {
        assert!(
            ROLES.contains(&role.as_str()),
            "unknown backspin-role {role:?} in stack.yaml"
        );
    }
}

#[test]
fn the_ingest_queue_redrives_to_the_dead_letter_queue() {
    let template = template();
    let (_, ingest) = the_one(&template, "ingest queue").unwrap();
    let (dead_letters, _) = the_one(&template, "dead-letter queue").unwrap();
    let target = property(&ingest, "RedrivePolicy.deadLetterTargetArn").expect("a redrive policy");
    assert_eq!(get_att(target), Some((dead_letters, "Arn".to_owned())));
}

/// Backlog per instance, as queue-config's policy counts it: visible plus in-flight messages
/// of the ingest queue, over the worker group's in-service instances.
#[test]
fn the_worker_policy_tracks_the_ingest_backlog_per_worker_instance() {
    let template = template();
    let (ingest, _) = the_one(&template, "ingest queue").unwrap();
    let (group, _) = the_one(&template, "worker group").unwrap();
    let (_, policy) = the_one(&template, "worker scaling policy").unwrap();

    assert_eq!(
        property(&policy, "PolicyType").and_then(Value::as_str),
        Some("TargetTrackingScaling")
    );
    assert_eq!(
        property(&policy, "AutoScalingGroupName").and_then(ref_to),
        Some(group.as_str()),
        "the policy scales the worker group"
    );
    let metrics = property(
        &policy,
        "TargetTrackingConfiguration.CustomizedMetricSpecification.Metrics",
    )
    .and_then(Value::as_sequence)
    .expect("target tracking on a metric math expression");

    // Metric id by (namespace, metric name), with the resource its one dimension names.
    let mut by_metric: BTreeMap<(String, String), (String, Option<String>)> = BTreeMap::new();
    let mut returned = Vec::new();
    for metric in metrics {
        let id = metric
            .get("Id")
            .and_then(Value::as_str)
            .expect("every metric has an Id");
        if metric.get("ReturnData").and_then(Value::as_bool) != Some(false) {
            returned.push(metric);
            continue;
        }
        let m = metric
            .get("MetricStat")
            .and_then(|s| s.get("Metric"))
            .expect("a metric that is not returned is a MetricStat");
        let text = |key: &str| {
            m.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let dimension = m
            .get("Dimensions")
            .and_then(Value::as_sequence)
            .and_then(|d| d.first())
            .and_then(|d| d.get("Value"));
        let names = dimension.and_then(|v| {
            ref_to(v)
                .map(str::to_owned)
                .or_else(|| get_att(v).map(|(id, _)| id))
        });
        by_metric.insert(
            (text("Namespace"), text("MetricName")),
            (id.to_owned(), names),
        );
    }
    let id_of = |namespace: &str, name: &str, resource: &str| {
        let (id, names) = by_metric
            .get(&(namespace.to_owned(), name.to_owned()))
            .unwrap_or_else(|| panic!("the policy reads {namespace} {name}"));
        assert_eq!(
            names.as_deref(),
            Some(resource),
            "{namespace} {name} of {resource}"
        );
        id.clone()
    };
    let visible = id_of("AWS/SQS", "ApproximateNumberOfMessagesVisible", &ingest);
    let in_flight = id_of("AWS/SQS", "ApproximateNumberOfMessagesNotVisible", &ingest);
    let instances = id_of("AWS/AutoScaling", "GroupInServiceInstances", &group);

    let [expression] = returned.as_slice() else {
        panic!("exactly one metric is returned: the backlog per instance");
    };
    let expression = expression
        .get("Expression")
        .and_then(Value::as_str)
        .expect("the returned metric is an expression");
    assert_eq!(
        expression.split_whitespace().collect::<String>(),
        format!("({visible}+{in_flight})/{instances}")
    );
}

/// The comparison bites: a template off by one value is caught, naming the value.
#[test]
fn a_drifted_value_is_reported() {
    let path = stack_path();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut template = parse(&text);
    assert!(mismatches(&template).is_empty());

    let (ingest, _) = the_one(&template, "ingest queue").unwrap();
    let properties = template["Resources"][ingest.as_str()]["Properties"]
        .as_mapping_mut()
        .unwrap();
    properties.insert("VisibilityTimeout".into(), 121.into());
    let problems = mismatches(&template);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("VisibilityTimeout (ingest queue"),
        "{problems:?}"
    );

    // A second resource claiming a role is as wrong as none.
    let (group, worker_group) = the_one(&template, "worker group").unwrap();
    template["Resources"]
        .as_mapping_mut()
        .unwrap()
        .insert(format!("{group}Copy").into(), worker_group);
    assert!(
        mismatches(&template)
            .iter()
            .any(|p| p.contains("2 resources have `backspin-role: worker group`")),
        "{:?}",
        mismatches(&template)
    );
}

#[test]
fn integers_are_read_as_the_template_writes_them() {
    assert_eq!(integer_text(&parse("120")), Some("120".to_owned()));
    assert_eq!(integer_text(&parse("'300'")), Some("300".to_owned()));
    assert_eq!(integer_text(&parse("'0'")), Some("0".to_owned()));
    assert_eq!(integer_text(&parse("'12s'")), None);
    assert_eq!(integer_text(&parse("1.5")), None);
    assert_eq!(integer_text(&parse("!Ref Size")), None);
    assert_eq!(
        get_att(&parse("!GetAtt Queue.Arn")),
        Some(("Queue".to_owned(), "Arn".to_owned()))
    );
    assert_eq!(
        get_att(&parse("{Fn::GetAtt: [Queue, Arn]}")),
        Some(("Queue".to_owned(), "Arn".to_owned()))
    );
    assert_eq!(ref_to(&parse("{Ref: Group}")), Some("Group"));
}
