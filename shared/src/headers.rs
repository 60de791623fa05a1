//! Security headers every answer carries, shared by the renderers (`error`, `http`, handlers).

/// Security headers on everything we answer: no MIME sniffing of our text into HTML
/// (issue 9 finding 11).
pub const NOSNIFF: (&str, &str) = ("x-content-type-options", "nosniff");

/// The Content-Security-Policy of every page we render: nothing may load, run, frame us or be
/// posted anywhere (CSP Level 3 `default-src 'none'`).
pub const PAGE_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
