//! Static files, compiled into the binary: no CDN, nothing fetched from elsewhere. A self-hoster
//! may add files of their own (`robots.txt`, a favicon) from a folder (`--static-dir`).

use sha2::Digest;

pub const FILES: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/app.js"),
    ),
];

/// The address of a static file, with a digest of its content: a new release changes the
/// address, so browsers may cache each one for a year and never run a stale script.
pub fn url(file: &str) -> String {
    static VERSIONS: std::sync::OnceLock<Vec<(&'static str, String)>> = std::sync::OnceLock::new();
    let versions = VERSIONS.get_or_init(|| {
        FILES
            .iter()
            .map(|(name, _, body)| {
                let digest = sha2::Sha256::digest(body.as_bytes());
                let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
                (*name, short)
            })
            .collect()
    });
    match versions.iter().find(|(name, _)| *name == file) {
        Some((_, v)) => format!("/static/{file}?v={v}"),
        None => format!("/static/{file}"),
    }
}

pub fn content_type(file: &str) -> &'static str {
    match file
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}
