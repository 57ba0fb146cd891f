//! The scaling policy: what `desired_workers` decides for idle queues, backlogs, cooldowns and
//! in-flight work, and that it is monotone in the backlog over a grid of inputs.

use std::time::Duration;

use queue_config::{Decision, Observation, Reason, ScalingPolicy, desired_workers};

const LONG_AGO: Duration = Duration::MAX;
const JUST_NOW: Duration = Duration::ZERO;

/// An observation whose cooldowns have both passed.
fn observe(visible: u64, in_flight: u64, current: u32) -> Observation {
    Observation {
        visible,
        in_flight,
        current,
        since_last_scale_out: LONG_AGO,
        since_last_scale_in: LONG_AGO,
    }
}

fn decide(policy: &ScalingPolicy, observation: Observation) -> Decision {
    desired_workers(policy, &observation)
}

/// A small policy where every branch is reachable with small numbers.
const SMALL: ScalingPolicy = ScalingPolicy {
    min_workers: 2,
    max_workers: 6,
    target_backlog_per_worker: 3,
    scale_out_cooldown: Duration::from_secs(10),
    scale_in_cooldown: Duration::from_secs(60),
};

#[test]
fn idle_queue_shrinks_to_min_after_cooldown() {
    for policy in [ScalingPolicy::DEFAULT, ScalingPolicy::CLOUD, SMALL] {
        let mut current = policy.max_workers;
        let mut steps = 0;
        loop {
            let decision = decide(&policy, observe(0, 0, current));
            assert!(decision.desired <= current, "{policy:?}: {decision:?}");
            if decision.desired == current {
                break;
            }
            assert_eq!(decision.desired, current - 1, "one worker at a time");
            current = decision.desired;
            steps += 1;
        }
        assert_eq!(current, policy.min_workers, "{policy:?}");
        assert_eq!(steps, policy.max_workers - policy.min_workers);
        assert_eq!(
            decide(&policy, observe(0, 0, current)).reason,
            Reason::ClampedToMin
        );
    }
}

#[test]
fn idle_queue_keeps_its_workers_until_the_scale_in_cooldown_has_passed() {
    let policy = ScalingPolicy::DEFAULT;
    let cooldown = policy.scale_in_cooldown;
    for (since_out, since_in) in [
        (LONG_AGO, cooldown - Duration::from_secs(1)),
        (cooldown - Duration::from_secs(1), LONG_AGO),
        (JUST_NOW, JUST_NOW),
    ] {
        let observation = Observation {
            since_last_scale_out: since_out,
            since_last_scale_in: since_in,
            ..observe(0, 0, 3)
        };
        assert_eq!(
            decide(&policy, observation),
            Decision {
                desired: 3,
                reason: Reason::HeldByCooldown
            },
            "{observation:?}"
        );
    }
    let observation = Observation {
        since_last_scale_out: cooldown,
        since_last_scale_in: cooldown,
        ..observe(0, 0, 3)
    };
    assert_eq!(
        decide(&policy, observation),
        Decision {
            desired: 2,
            reason: Reason::ScaleIn
        }
    );
}

#[test]
fn a_backlog_grows_the_pool_to_its_need_in_one_step() {
    // ceil(backlog / 3) for SMALL, from its minimum of 2.
    for (backlog, expected) in [(7, 3), (9, 3), (10, 4), (15, 5), (18, 6)] {
        let decision = decide(&SMALL, observe(backlog, 0, 2));
        assert_eq!(
            decision,
            Decision {
                desired: expected,
                reason: Reason::ScaleOut
            },
            "backlog {backlog}"
        );
    }
    // In-flight messages are backlog too.
    assert_eq!(decide(&SMALL, observe(6, 4, 2)).desired, 4);
    // The embedded default: target 2 per worker.
    assert_eq!(
        decide(&ScalingPolicy::DEFAULT, observe(5, 0, 1)),
        Decision {
            desired: 3,
            reason: Reason::ScaleOut
        }
    );
    // The cloud: target 10 per instance.
    assert_eq!(
        decide(&ScalingPolicy::CLOUD, observe(41, 0, 1)),
        Decision {
            desired: 5,
            reason: Reason::ScaleOut
        }
    );
}

#[test]
fn a_backlog_beyond_max_is_clamped_to_max() {
    for policy in [ScalingPolicy::DEFAULT, ScalingPolicy::CLOUD, SMALL] {
        for visible in [
            u64::from(policy.max_workers * policy.target_backlog_per_worker) + 1,
            1_000_000,
            u64::MAX,
        ] {
            for current in policy.min_workers..=policy.max_workers {
                let decision = decide(&policy, observe(visible, 0, current));
                assert_eq!(
                    decision,
                    Decision {
                        desired: policy.max_workers,
                        reason: Reason::ClampedToMax
                    },
                    "{policy:?}, visible {visible}, current {current}"
                );
            }
        }
    }
    // Saturating arithmetic: the largest counts do not overflow.
    let decision = decide(&SMALL, observe(u64::MAX, u64::MAX, 0));
    assert_eq!(decision.desired, SMALL.max_workers);
}

#[test]
fn a_backlog_the_pool_already_matches_is_steady() {
    assert_eq!(
        decide(&SMALL, observe(8, 1, 3)),
        Decision {
            desired: 3,
            reason: Reason::Steady
        }
    );
    assert_eq!(
        decide(&ScalingPolicy::DEFAULT, observe(1, 1, 1)),
        Decision {
            desired: 1,
            reason: Reason::Steady
        }
    );
}

#[test]
fn the_scale_out_cooldown_holds_a_scale_out() {
    let cooldown = SMALL.scale_out_cooldown;
    for since in [JUST_NOW, cooldown - Duration::from_millis(1)] {
        let observation = Observation {
            since_last_scale_out: since,
            ..observe(15, 0, 3)
        };
        assert_eq!(
            decide(&SMALL, observation),
            Decision {
                desired: 3,
                reason: Reason::HeldByCooldown
            }
        );
    }
    let observation = Observation {
        since_last_scale_out: cooldown,
        since_last_scale_in: JUST_NOW,
        ..observe(15, 0, 3)
    };
    assert_eq!(
        decide(&SMALL, observation),
        Decision {
            desired: 5,
            reason: Reason::ScaleOut
        },
        "a recent scale-in does not hold a scale-out"
    );
}

#[test]
fn the_scale_in_cooldown_counts_from_the_last_scale_out_too() {
    // Just grown to 6 for a burst that has already drained: keep the workers for a while.
    let observation = Observation {
        since_last_scale_out: Duration::from_secs(30),
        since_last_scale_in: LONG_AGO,
        ..observe(0, 0, 6)
    };
    assert_eq!(
        decide(&SMALL, observation),
        Decision {
            desired: 6,
            reason: Reason::HeldByCooldown
        }
    );
}

#[test]
fn cooldowns_never_hold_a_steady_pool_or_one_pinned_at_a_bound() {
    let held = |observation: Observation| Observation {
        since_last_scale_out: JUST_NOW,
        since_last_scale_in: JUST_NOW,
        ..observation
    };
    assert_eq!(
        decide(&SMALL, held(observe(8, 1, 3))).reason,
        Reason::Steady
    );
    assert_eq!(
        decide(&SMALL, held(observe(0, 0, 2))).reason,
        Reason::ClampedToMin
    );
    assert_eq!(
        decide(&SMALL, held(observe(100, 0, 6))).reason,
        Reason::ClampedToMax
    );
}

#[test]
fn a_count_outside_the_bounds_is_corrected_at_once_whatever_the_cooldowns() {
    let held = |observation: Observation| Observation {
        since_last_scale_out: JUST_NOW,
        since_last_scale_in: JUST_NOW,
        ..observation
    };
    // A pool starting from nothing gets its minimum at once...
    assert_eq!(
        decide(&SMALL, held(observe(0, 0, 0))),
        Decision {
            desired: 2,
            reason: Reason::ClampedToMin
        }
    );
    // ...and, cooldowns allowing, straight what the backlog needs.
    assert_eq!(
        decide(&SMALL, observe(12, 0, 0)),
        Decision {
            desired: 4,
            reason: Reason::ScaleOut
        }
    );
    // A pool above a lowered maximum comes down to it.
    assert_eq!(
        decide(&SMALL, held(observe(100, 0, 9))),
        Decision {
            desired: 6,
            reason: Reason::ClampedToMax
        }
    );
    assert_eq!(
        decide(&SMALL, held(observe(0, 0, 9))),
        Decision {
            desired: 6,
            reason: Reason::ClampedToMax
        }
    );
}

#[test]
fn in_flight_work_is_never_scaled_away() {
    // Four busy workers and nothing waiting: the backlog alone would need two (target 3), but
    // every worker holds a message.
    let decision = decide(&SMALL, observe(0, 4, 4));
    assert_eq!(
        decision,
        Decision {
            desired: 4,
            reason: Reason::Steady
        }
    );
    // The embedded default, target 2: three busy workers stay three.
    assert_eq!(decide(&ScalingPolicy::DEFAULT, observe(0, 3, 3)).desired, 3);
    // The cloud, target 10: five instances busy with one message each stay five.
    assert_eq!(decide(&ScalingPolicy::CLOUD, observe(0, 5, 5)).desired, 5);
    // Held messages are never below the floor of busy workers, capped by max.
    assert_eq!(decide(&SMALL, observe(0, 9, 6)).desired, 6);
}

#[test]
fn in_flight_work_is_never_scaled_away_anywhere_on_the_grid() {
    for_grid(|policy, observation, decision| {
        let busy = observation.in_flight.min(u64::from(observation.current));
        let floor = busy.min(u64::from(policy.max_workers));
        assert!(
            u64::from(decision.desired) >= floor,
            "{policy:?} {observation:?} {decision:?}"
        );
        let cooldowns_passed = observation.since_last_scale_out == LONG_AGO;
        if cooldowns_passed {
            let floor = observation.in_flight.min(u64::from(policy.max_workers));
            assert!(
                u64::from(decision.desired) >= floor,
                "{policy:?} {observation:?} {decision:?}"
            );
        }
    });
}

#[test]
fn more_backlog_never_yields_fewer_workers() {
    for_grid(|policy, observation, decision| {
        let more_visible = Observation {
            visible: observation.visible + 1,
            ..observation
        };
        let more_in_flight = Observation {
            in_flight: observation.in_flight + 1,
            ..observation
        };
        for more in [more_visible, more_in_flight] {
            let after = desired_workers(policy, &more);
            assert!(
                after.desired >= decision.desired,
                "{policy:?}\n{observation:?} gives {decision:?}\n{more:?} gives {after:?}"
            );
        }
    });
}

#[test]
fn decisions_stay_within_bounds_scale_in_one_step_at_a_time_and_match_their_reason() {
    for_grid(|policy, observation, decision| {
        let context = format!("{policy:?} {observation:?} {decision:?}");
        assert!(
            (policy.min_workers..=policy.max_workers).contains(&decision.desired),
            "{context}"
        );
        let current = observation.current;
        if (policy.min_workers..=policy.max_workers).contains(&current) {
            assert!(decision.desired + 1 >= current, "{context}");
        }
        match decision.reason {
            Reason::Steady | Reason::HeldByCooldown => {
                assert_eq!(decision.desired, current, "{context}")
            }
            Reason::ScaleOut => assert!(decision.desired > current, "{context}"),
            Reason::ScaleIn => assert!(decision.desired < current, "{context}"),
            Reason::ClampedToMin => assert_eq!(decision.desired, policy.min_workers, "{context}"),
            Reason::ClampedToMax => assert_eq!(decision.desired, policy.max_workers, "{context}"),
        }
    });
}

#[test]
fn a_zero_target_or_crossed_bounds_do_not_panic() {
    let broken = ScalingPolicy {
        min_workers: 5,
        max_workers: 3,
        target_backlog_per_worker: 0,
        ..SMALL
    };
    assert!(broken.validate().is_err());
    let decision = decide(&broken, observe(2, 0, 0));
    assert_eq!(decision.desired, 3);
}

#[test]
fn reasons_have_readable_labels() {
    assert_eq!(Reason::HeldByCooldown.to_string(), "held by cooldown");
    assert_eq!(Reason::ClampedToMax.as_str(), "clamped to max");
}

/// Calls `check` for every policy, visible and in-flight count, current count and cooldown
/// state of a grid that covers each bound and each side of it.
fn for_grid(mut check: impl FnMut(&ScalingPolicy, Observation, Decision)) {
    let policies = [
        ScalingPolicy::DEFAULT,
        ScalingPolicy::CLOUD,
        SMALL,
        ScalingPolicy {
            min_workers: 0,
            max_workers: 1,
            target_backlog_per_worker: 1,
            ..SMALL
        },
        ScalingPolicy {
            min_workers: 3,
            max_workers: 3,
            target_backlog_per_worker: 5,
            ..SMALL
        },
    ];
    let clocks = [
        (LONG_AGO, LONG_AGO),
        (JUST_NOW, LONG_AGO),
        (LONG_AGO, JUST_NOW),
        (JUST_NOW, JUST_NOW),
        (Duration::from_secs(30), LONG_AGO),
    ];
    for policy in &policies {
        for visible in 0..=45 {
            for in_flight in 0..=14 {
                for current in 0..=12 {
                    for (since_last_scale_out, since_last_scale_in) in clocks {
                        let observation = Observation {
                            visible,
                            in_flight,
                            current,
                            since_last_scale_out,
                            since_last_scale_in,
                        };
                        check(policy, observation, desired_workers(policy, &observation));
                    }
                }
            }
        }
    }
}
