//! What the property tests share.

use proptest::prelude::ProptestConfig;
use proptest::test_runner::RngSeed;

/// `default` cases (`PROPTEST_CASES` overrides) with a fixed seed, `seed`, unless
/// `PROPTEST_RNG_SEED` says otherwise ("random" for a new one each run, as
/// scripts/proptest-random.sh does): the test command gives the same answer every time.
pub fn cases(default: u32, seed: u64) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    let rng_seed = match std::env::var("PROPTEST_RNG_SEED").ok().as_deref() {
        Some("random") => RngSeed::Random,
        Some(n) => RngSeed::Fixed(
            n.parse()
                .expect("PROPTEST_RNG_SEED: a number or \"random\""),
        ),
        None => RngSeed::Fixed(seed),
    };
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_seed,
        ..ProptestConfig::default()
    }
}
