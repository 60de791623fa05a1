//! SAML routes. The metadata is real; login and the ACS check the organization's setup and
//! answer 501 until the SAML issue lands them.

use http::StatusCode;
use lambda_http::Request;

use super::Handled;
use crate::app::Ctx;
use crate::error::AppError;
use crate::http::{body_bytes, response};
use crate::saml::metadata::sp_metadata_xml;

/// SAML responses from Okta are a few KB; 256 KiB leaves room for large attribute statements and
/// refuses memory-exhaustion attempts before any parsing.
pub const ACS_BODY_LIMIT: usize = 256 * 1024;

pub(super) fn metadata(ctx: &Ctx) -> Handled {
    let xml = sp_metadata_xml(&ctx.org);
    Ok((
        response(
            StatusCode::OK,
            "application/samlmetadata+xml; charset=utf-8",
            xml,
        ),
        "ok",
    ))
}

fn require_idp(ctx: &Ctx) -> Result<(), AppError> {
    if ctx.org.idp.is_none() {
        return Err(AppError::NotConfigured {
            code: "idp_not_configured",
            detail: format!(
                "organization {:?} has no identity provider yet: run `ssoctl org set-idp {} --metadata <Okta metadata URL or file>`",
                ctx.org.org, ctx.org.org
            ),
        });
    }
    Ok(())
}

pub(super) fn login(ctx: &Ctx) -> Handled {
    require_idp(ctx)?;
    Err(AppError::NotImplemented("SP-initiated login"))
}

pub(super) fn acs(ctx: &Ctx, req: &Request) -> Handled {
    body_bytes(req, ACS_BODY_LIMIT)?;
    require_idp(ctx)?;
    Err(AppError::NotImplemented("SAML assertion consumer service"))
}
