//! The console's own CSS and JavaScript, embedded in the binary and served under a name that
//! carries a hash of their bytes, so they can be cached for a year and never go stale.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

use super::guarded;

/// One embedded file.
struct Asset {
    /// `console.<hash>.css`.
    name: String,
    bytes: &'static [u8],
    content_type: &'static str,
}

fn asset(stem: &str, ext: &str, bytes: &'static [u8], content_type: &'static str) -> Asset {
    let hash = Sha256::digest(bytes);
    let short: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
    Asset {
        name: format!("{stem}.{short}.{ext}"),
        bytes,
        content_type,
    }
}

static ASSETS: LazyLock<[Asset; 2]> = LazyLock::new(|| {
    [
        asset(
            "console",
            "css",
            include_bytes!("static/console.css"),
            "text/css; charset=utf-8",
        ),
        asset(
            "console",
            "js",
            include_bytes!("static/console.js"),
            "text/javascript; charset=utf-8",
        ),
    ]
});

/// The stylesheet's URL.
pub fn css() -> String {
    format!("/static/{}", ASSETS[0].name)
}

/// The script's URL.
pub fn js() -> String {
    format!("/static/{}", ASSETS[1].name)
}

/// `GET /static/{file}`: an embedded file by its hashed name, cached for good.
pub async fn serve(file: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|a| a.name == *file) {
        Some(a) => guarded(HttpResponse::Ok())
            .content_type(a.content_type)
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(a.bytes),
        None => super::not_found(),
    }
}
