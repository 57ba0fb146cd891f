//! Queue settings and policy validation, and the values handed to `stack.yaml`.

use std::collections::HashSet;
use std::time::Duration;

use queue_config::{
    DEAD_LETTER_RETENTION, QueueSettings, ScalingPolicy, StackValue, cloudformation_values,
    stack_values,
};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Asserts that `validate` rejects the settings and that the error starts with `field`.
#[track_caller]
fn rejects(result: Result<(), String>, field: &str) {
    match result {
        Ok(()) => panic!("{field}: accepted"),
        Err(message) => assert!(
            message.starts_with(field),
            "expected an error naming {field}, got {message:?}"
        ),
    }
}

#[test]
fn the_defaults_are_valid() {
    assert_eq!(QueueSettings::DEFAULT.validate(), Ok(()));
    assert_eq!(ScalingPolicy::DEFAULT.validate(), Ok(()));
    assert_eq!(ScalingPolicy::CLOUD.validate(), Ok(()));
    assert_eq!(QueueSettings::default(), QueueSettings::DEFAULT);
    assert_eq!(ScalingPolicy::default(), ScalingPolicy::DEFAULT);
}

#[test]
fn the_default_queue_fits_a_ten_second_ingest_of_one_upload_per_worker() {
    let settings = QueueSettings::DEFAULT;
    let ingest = secs(10);
    assert!(settings.visibility_timeout >= ingest * 10);
    assert!(settings.heartbeat_every * 2 < settings.visibility_timeout);
    assert!(settings.heartbeat_every > ingest);
    assert_eq!(settings.batch_size, 1);
    assert_eq!(settings.wait_time, QueueSettings::MAX_WAIT_TIME);
    assert!(DEAD_LETTER_RETENTION > settings.retention);
}

#[test]
fn validate_accepts_every_limit_sqs_allows() {
    let edge = QueueSettings {
        visibility_timeout: QueueSettings::MAX_VISIBILITY_TIMEOUT,
        max_receives: 1000,
        retention: QueueSettings::MAX_RETENTION,
        wait_time: Duration::ZERO,
        batch_size: 10,
        heartbeat_every: Duration::from_millis(1),
    };
    assert_eq!(edge.validate(), Ok(()));
    let other_edge = QueueSettings {
        visibility_timeout: secs(3),
        max_receives: 1,
        retention: secs(60),
        wait_time: secs(20),
        batch_size: 1,
        heartbeat_every: secs(1),
    };
    assert_eq!(other_edge.validate(), Ok(()));
}

#[test]
fn validate_rejects_each_bad_queue_field_with_its_name() {
    let ok = QueueSettings::DEFAULT;
    let cases = [
        (
            QueueSettings {
                visibility_timeout: secs(12 * 3600 + 1),
                ..ok
            },
            "visibility_timeout",
        ),
        (
            QueueSettings {
                visibility_timeout: Duration::from_millis(120_500),
                ..ok
            },
            "visibility_timeout",
        ),
        (
            QueueSettings {
                max_receives: 0,
                ..ok
            },
            "max_receives",
        ),
        (
            QueueSettings {
                max_receives: 1001,
                ..ok
            },
            "max_receives",
        ),
        (
            QueueSettings {
                retention: secs(59),
                ..ok
            },
            "retention",
        ),
        (
            QueueSettings {
                retention: secs(14 * 24 * 3600 + 1),
                ..ok
            },
            "retention",
        ),
        (
            QueueSettings {
                retention: Duration::from_millis(60_001),
                ..ok
            },
            "retention",
        ),
        (
            QueueSettings {
                wait_time: secs(21),
                ..ok
            },
            "wait_time",
        ),
        (
            QueueSettings {
                wait_time: Duration::from_millis(500),
                ..ok
            },
            "wait_time",
        ),
        (
            QueueSettings {
                batch_size: 0,
                ..ok
            },
            "batch_size",
        ),
        (
            QueueSettings {
                batch_size: 11,
                ..ok
            },
            "batch_size",
        ),
        (
            QueueSettings {
                heartbeat_every: Duration::ZERO,
                ..ok
            },
            "heartbeat_every",
        ),
        (
            QueueSettings {
                heartbeat_every: secs(60),
                ..ok
            },
            "heartbeat_every",
        ),
        (
            QueueSettings {
                visibility_timeout: Duration::ZERO,
                heartbeat_every: secs(1),
                ..ok
            },
            "heartbeat_every",
        ),
    ];
    for (settings, field) in cases {
        rejects(settings.validate(), field);
    }
    // Just under half the visibility timeout is fine.
    let near = QueueSettings {
        heartbeat_every: Duration::from_millis(59_999),
        ..ok
    };
    assert_eq!(near.validate(), Ok(()));
}

#[test]
fn validate_rejects_each_bad_policy_field_with_its_name() {
    let ok = ScalingPolicy::DEFAULT;
    let cases = [
        (
            ScalingPolicy {
                min_workers: 0,
                max_workers: 0,
                ..ok
            },
            "max_workers",
        ),
        (
            ScalingPolicy {
                min_workers: 5,
                max_workers: 4,
                ..ok
            },
            "min_workers",
        ),
        (
            ScalingPolicy {
                target_backlog_per_worker: 0,
                ..ok
            },
            "target_backlog_per_worker",
        ),
        (
            ScalingPolicy {
                scale_out_cooldown: Duration::from_millis(2_500),
                ..ok
            },
            "scale_out_cooldown",
        ),
        (
            ScalingPolicy {
                scale_in_cooldown: Duration::from_millis(60_001),
                ..ok
            },
            "scale_in_cooldown",
        ),
    ];
    for (policy, field) in cases {
        rejects(policy.validate(), field);
    }
    let scale_to_zero = ScalingPolicy {
        min_workers: 0,
        scale_out_cooldown: Duration::ZERO,
        ..ok
    };
    assert_eq!(scale_to_zero.validate(), Ok(()));
}

fn value<'a>(values: &'a [StackValue], name: &str) -> &'a str {
    &values
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("no {name}"))
        .value
}

#[test]
fn cloudformation_values_name_every_setting_the_stack_must_carry() {
    let values = cloudformation_values();
    let names: HashSet<_> = values.iter().map(|v| v.name).collect();
    assert_eq!(names.len(), values.len(), "names are unique");
    let expected = [
        ("VisibilityTimeout", "120"),
        ("MaxReceiveCount", "5"),
        ("MessageRetentionPeriod", "345600"),
        ("ReceiveMessageWaitTimeSeconds", "20"),
        ("DeadLetterMessageRetentionPeriod", "1209600"),
        ("MinSize", "1"),
        ("MaxSize", "10"),
        ("TargetValue", "10"),
        ("EstimatedInstanceWarmup", "60"),
        ("Cooldown", "300"),
    ];
    assert_eq!(values.len(), expected.len());
    for (name, expected) in expected {
        assert_eq!(value(&values, name), expected, "{name}");
    }
    for v in &values {
        assert!(v.value.parse::<u64>().is_ok(), "{v:?}");
        assert!(v.resource_type.starts_with("AWS::"), "{v:?}");
        assert!(!v.property.is_empty() && !v.role.is_empty(), "{v:?}");
    }
}

#[test]
fn stack_values_follow_the_settings_and_policy_given() {
    let settings = QueueSettings {
        visibility_timeout: secs(300),
        max_receives: 3,
        ..QueueSettings::DEFAULT
    };
    let policy = ScalingPolicy {
        max_workers: 25,
        scale_in_cooldown: secs(600),
        ..ScalingPolicy::CLOUD
    };
    let values = stack_values(&settings, &policy);
    assert_eq!(value(&values, "VisibilityTimeout"), "300");
    assert_eq!(value(&values, "MaxReceiveCount"), "3");
    assert_eq!(value(&values, "MaxSize"), "25");
    assert_eq!(value(&values, "Cooldown"), "600");
}
