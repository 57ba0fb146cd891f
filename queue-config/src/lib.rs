#![doc = include_str!("../README.md")]

pub mod policy;
pub mod settings;
pub mod stack;

pub use policy::{Decision, Observation, Reason, ScalingPolicy, desired_workers};
pub use settings::{DEAD_LETTER_RETENTION, QueueSettings};
pub use stack::{StackValue, cloudformation_values, stack_values};
