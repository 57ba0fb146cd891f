//! Backspin's dashboard engine: everything a dashboard, ranking, artist page, recap or the
//! overview API shows, computed from a user's streams. Pure and I/O-free (no HTTP, no
//! database): the web tier reads a user's artifact and renders what this computes, the worker
//! runs the same code to finish views ahead of time, and `backspin inspect`'s numbers come from
//! the same aggregates (`schema::facts`), so the three agree by construction.
//!
//! - [`regions`]: the selection rule, which uploads hold a stream and which shadow it.
//! - [`selection`]: a selection prepared for viewing ([`Prepared`]), the content kinds, the
//!   ranges the controls offer, the settings a user's views are computed under.
//! - [`overview`]: the overview of a selection in a range (`/api/v1/stats`).
//! - [`panels`]: the view models of every panel, ranking, artist page and recap.
//! - [`compare`]: two periods side by side.
//! - [`anatomy`]: where, when and on what you skip; how much you chose.
//! - [`overlaps`]: listening on two devices at once, and the time with overlaps counted once.
//! - [`chapters`]: the eras of a history, where the mix of artists shifts, and its album
//!   sittings.
//! - [`moments`]: trips abroad, this day in other years, and milestones.
//! - [`ledger`]: where each upload's streams went: kinds, duplicates in other uploads,
//!   coverage by extended history, what it added to the uploads before it.
//! - [`search`]: what of a person's own history a few words name.
//!
//! The identity of what is counted (docs/DESIGN.md, "Identity"): an artist or show by its
//! name; a track, album or episode by its artist's (show's) name and its own.

pub mod anatomy;
pub mod chapters;
pub mod compare;
pub mod ledger;
pub mod moments;
pub mod overlaps;
pub mod overview;
pub mod panels;
pub mod regions;
pub mod search;
pub mod selection;

pub use selection::{Content, ContentKind, DayRange, Prepared, RangeChoice};

/// Input a person gave that cannot be read, with a message naming what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Declares a type that stands, in the API document, for a text field that holds one of a
/// fixed set of names (the views keep such fields as `&'static str`): a string enum of the
/// names, and the default a query parameter takes when absent. A field says
/// `#[schema(value_type = TheType)]`, which keeps its doc comment as its description.
#[macro_export]
macro_rules! names {
    ($(#[doc = $doc:literal])* $name:ident: $values:expr $(, default $default:literal)?) => {
        $(#[doc = $doc])*
        #[derive(Debug)]
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let doc: &[&str] = &[$($doc),*];
                let description = doc.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some(description))
                    .enum_values(Some($values.iter().copied()))
                    $(.default(Some($default.into())))?
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}
