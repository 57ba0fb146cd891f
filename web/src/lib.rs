#![doc = include_str!("../README.md")]

pub mod accounts;
pub mod admin;
pub mod dashboards;
pub mod error;
pub mod model;
pub mod openapi;
pub mod ops;
pub mod router;
pub mod security;
pub mod session;
pub mod settings;
pub mod shares;
pub mod state;
pub mod ui;
pub mod uploads;

pub use ::accounts::idp;
pub use openapi::document as api_document;
pub use router::{router, serve};
pub use state::{AppState, Config};
