//! Identifiers: 128 random bits in hex. Unguessable, so an id alone grants nothing, and every
//! lookup is still scoped to its owner.

use rand::RngCore;

/// A new random id (32 lowercase hex digits).
pub fn new_id() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Whether `s` looks like an id we issued (so that junk never reaches a query or a path).
pub fn is_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
