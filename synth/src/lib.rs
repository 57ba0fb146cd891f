//! Synthetic Spotify exports (placeholder, being written).
