//! The values `stack.yaml` must carry, named, so a test can compare the template with this
//! crate and the cloud cannot drift from what the worker assumes.
//!
//! [`cloudformation_values`] lists the ingest queue's settings ([`QueueSettings::DEFAULT`]),
//! the dead-letter queue's retention ([`DEAD_LETTER_RETENTION`]) and the worker group's
//! scaling ([`ScalingPolicy::CLOUD`]). Each [`StackValue`] says which resource (by role and
//! CloudFormation type) and which property holds it, and the value as the template writes it:
//! a decimal integer, durations in seconds.
//!
//! The worker group scales with an EC2 Auto Scaling target tracking policy on the backlog per
//! instance, computed with CloudWatch metric math from the queue's message counts and the
//! group's in-service instances. [`desired_workers`](crate::desired_workers) counts visible
//! plus in-flight messages; AWS's published example counts visible ones only, which differs by
//! the messages the instances hold (one each per worker, with a batch size of 1). Either way
//! the target value is the same number.
//!
//! EC2 Auto Scaling has no cooldowns for target tracking. The scale-out cooldown maps to the
//! policy's `EstimatedInstanceWarmup` (a new instance's metrics are not counted, and do not
//! trigger another scale-out, until it has warmed up); target tracking removes instances
//! gradually on its own (its scale-in alarm waits for many low readings), so the scale-in
//! cooldown is written as the group's default `Cooldown`, which states it in the template and
//! governs any simple scaling policy added later, but does not slow target tracking.

use crate::policy::ScalingPolicy;
use crate::settings::{DEAD_LETTER_RETENTION, QueueSettings};

/// One value `stack.yaml` must carry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StackValue {
    /// A unique name for the value: the CloudFormation property name where that is unique in
    /// the list, otherwise prefixed by the resource's role.
    pub name: &'static str,
    /// Which resource holds it: `"ingest queue"`, `"dead-letter queue"`, `"worker group"` or
    /// `"worker scaling policy"`.
    pub role: &'static str,
    /// The resource's CloudFormation type, such as `AWS::SQS::Queue`.
    pub resource_type: &'static str,
    /// The property, dotted for nested ones (`RedrivePolicy.maxReceiveCount`).
    pub property: &'static str,
    /// The value as a decimal integer; durations in whole seconds.
    pub value: String,
}

/// The values `stack.yaml` must carry for [`QueueSettings::DEFAULT`] and
/// [`ScalingPolicy::CLOUD`]; a test compares them with the template.
pub fn cloudformation_values() -> Vec<StackValue> {
    stack_values(&QueueSettings::DEFAULT, &ScalingPolicy::CLOUD)
}

/// The values `stack.yaml` must carry for these settings and this worker-group policy.
/// Durations are written in whole seconds (validated settings have no fractions).
pub fn stack_values(settings: &QueueSettings, policy: &ScalingPolicy) -> Vec<StackValue> {
    const QUEUE: &str = "AWS::SQS::Queue";
    const GROUP: &str = "AWS::AutoScaling::AutoScalingGroup";
    const SCALING: &str = "AWS::AutoScaling::ScalingPolicy";
    let value = |name, role, resource_type, property, value: u64| StackValue {
        name,
        role,
        resource_type,
        property,
        value: value.to_string(),
    };
    vec![
        value(
            "VisibilityTimeout",
            "ingest queue",
            QUEUE,
            "VisibilityTimeout",
            settings.visibility_timeout.as_secs(),
        ),
        value(
            "MaxReceiveCount",
            "ingest queue",
            QUEUE,
            "RedrivePolicy.maxReceiveCount",
            settings.max_receives.into(),
        ),
        value(
            "MessageRetentionPeriod",
            "ingest queue",
            QUEUE,
            "MessageRetentionPeriod",
            settings.retention.as_secs(),
        ),
        value(
            "ReceiveMessageWaitTimeSeconds",
            "ingest queue",
            QUEUE,
            "ReceiveMessageWaitTimeSeconds",
            settings.wait_time.as_secs(),
        ),
        value(
            "DeadLetterMessageRetentionPeriod",
            "dead-letter queue",
            QUEUE,
            "MessageRetentionPeriod",
            DEAD_LETTER_RETENTION.as_secs(),
        ),
        value(
            "MinSize",
            "worker group",
            GROUP,
            "MinSize",
            policy.min_workers.into(),
        ),
        value(
            "MaxSize",
            "worker group",
            GROUP,
            "MaxSize",
            policy.max_workers.into(),
        ),
        value(
            "TargetValue",
            "worker scaling policy",
            SCALING,
            "TargetTrackingConfiguration.TargetValue",
            policy.target_backlog_per_worker.into(),
        ),
        value(
            "EstimatedInstanceWarmup",
            "worker scaling policy",
            SCALING,
            "EstimatedInstanceWarmup",
            policy.scale_out_cooldown.as_secs(),
        ),
        value(
            "Cooldown",
            "worker group",
            GROUP,
            "Cooldown",
            policy.scale_in_cooldown.as_secs(),
        ),
    ]
}
