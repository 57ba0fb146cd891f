#![doc = include_str!("../README.md")]

pub mod db;
pub mod held;
pub mod hidden;
pub mod ids;
pub mod objects;
pub mod plays;
pub mod queue;
pub mod sessions;
pub mod shares;
pub mod uploads;
pub mod users;
pub mod views;

pub use db::{Db, Tx};
