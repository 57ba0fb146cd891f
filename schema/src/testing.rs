//! Plays for tests: the one place that says what an ordinary stream of a test is, for this
//! crate's tests and those of the crates that read its plays (`engine`).

use crate::model::{Country, Kind, Platform, Play, Source, Strings, Sym};
use crate::time::EpochMs;

/// A music stream as the tests use it: `title` by `artist` (no album), ended at `end_ms`
/// after `ms_played`, from extended history, shuffle on, not skipped, on a phone, in Sweden.
pub fn track(
    strings: &mut Strings,
    end_ms: EpochMs,
    ms_played: u64,
    artist: &str,
    title: &str,
) -> Play {
    let mut p = Play::bare(
        end_ms,
        ms_played,
        Kind::Track,
        Source::Extended,
        [strings.intern(title), strings.intern(artist), Sym::NONE],
    );
    p.shuffle = Some(true);
    p.skipped = Some(false);
    p.platform = Platform::Phone;
    p.country = Country::parse("SE");
    p
}
