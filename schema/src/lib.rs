#![doc = include_str!("../README.md")]

pub mod aggregate;
pub mod artifact;
pub mod dedupe;
pub mod event;
pub mod facts;
pub mod formats;
pub mod load;
pub mod model;
pub mod scrub;
pub mod summary;
pub mod testing;
pub mod time;

pub use aggregate::{Cell, Entity, EntityKind, Month, RankBy, Settings, Stats};
pub use artifact::Artifact;
pub use dedupe::{DedupeReport, dedupe};
pub use facts::Facts;
pub use formats::{Format, Generation, ParseError, ParsedFile, Parser};
pub use load::{FileReport, Library, Limits, Status, load};
pub use model::{Country, Kind, Platform, Play, Source, Strings, Sym};
pub use scrub::{ScrubError, ScrubReport, scrub};
pub use summary::Summary;

/// Time zones by IANA name.
pub use chrono_tz::Tz;
