//! Every reason a SAML response or sign-in is refused, with its stable outcome code.

/// Why a response was refused. `code()` is stable: admins see it on the error page, logs and
/// metrics carry it. Messages never repeat anything from the message itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamlError {
    #[error("the SAMLResponse is not base64 of a well-formed UTF-8 XML document")]
    MalformedResponse,
    #[error("the SAMLResponse contains a DTD, which is never accepted")]
    DtdForbidden,
    #[error(
        "the response exceeds a structural limit (elements, nesting depth, attributes or namespace declarations) that real IdP responses stay far below"
    )]
    ResponseTooComplex,
    /// The form body is over the deployment's ACS body limit (`ACS_BODY_LIMIT_KIB`): in practice
    /// an Okta response carrying a great many group memberships. The page says what to change.
    #[error(
        "the sign-in response is larger than the {limit_kib} KiB this service accepts. It most likely carries too many group memberships: in Okta, give the app's groups attribute statement a filter that matches only the groups the app needs (SCIM group push still delivers every pushed group with its full membership), or ask the operator of this service to raise ACS_BODY_LIMIT_KIB"
    )]
    ResponseTooLarge { limit_kib: usize },
    #[error("the document is not a SAML 2.0 Response")]
    NotAResponse,
    #[error("the response carries no assertion")]
    MissingAssertion,
    #[error("the response carries more than one assertion")]
    MultipleAssertions,
    #[error("the assertion is not a direct child of the response")]
    AssertionMisplaced,
    #[error("this deployment has no SP encryption key (`ssoctl sp-key generate`); turn assertion encryption off in Okta or add the key")]
    EncryptedAssertionUnsupported,
    /// Internal: the response is encrypted and the validator was given no keys yet; the ACS
    /// loads them (Secrets Manager) and validates again. Never shown.
    #[error("the SP decryption keys are needed")]
    DecryptionKeysNeeded,
    #[error(
        "this organization requires encrypted assertions (Okta: Assertion Encryption = Encrypted)"
    )]
    EncryptedAssertionRequired,
    #[error(
        "the EncryptedAssertion is not the XML Encryption structure SAML core §2.3.4 describes"
    )]
    MalformedEncryptedAssertion,
    #[error("the assertion is encrypted with an algorithm other than AES-128/256-GCM or AES-128/256-CBC")]
    UnsupportedEncryptionAlgorithm,
    #[error("the assertion's key is transported with an algorithm other than RSA-OAEP (SHA-1, or SHA-256 with MGF1-SHA-256)")]
    UnsupportedKeyTransport,
    #[error("the EncryptedAssertion uses a RetrievalMethod, which is never followed")]
    RetrievalMethodForbidden,
    #[error("the EncryptedAssertion points to external cipher data (CipherReference), which is never fetched")]
    CipherReferenceForbidden,
    /// One outcome for every failure after a decryption key is tried (no padding oracle):
    /// `saml::xmlenc`.
    #[error("the encrypted assertion could not be decrypted with this deployment's SP key, or its signature is missing or does not verify: check the encryption certificate uploaded to Okta and the org's IdP signing certificate")]
    EncryptedAssertionInvalid,
    #[error("two elements of the response share one ID")]
    DuplicateId,
    #[error("the organization has no IdP signing certificate configured")]
    NoIdpCertificate,
    #[error("a configured IdP certificate is unreadable")]
    BadIdpCertificate,
    #[error("neither the response nor the assertion is signed")]
    Unsigned,
    #[error("a signature sits where none is allowed")]
    UnexpectedSignature,
    #[error("a signature is malformed")]
    MalformedSignature,
    #[error("a signature's InclusiveNamespaces PrefixList names more than 32 prefixes")]
    TooManyInclusivePrefixes,
    #[error("a signature does not reference the element that contains it")]
    SignatureReferenceMismatch,
    #[error("a signature uses a canonicalization other than exclusive C14N")]
    UnsupportedCanonicalization,
    #[error("a signature uses a transform other than enveloped-signature and exclusive C14N")]
    UnsupportedTransform,
    #[error("a signature uses a digest algorithm other than SHA-256/384/512")]
    UnsupportedDigestAlgorithm,
    #[error("a signature uses a signature algorithm other than RSA with SHA-256/384/512 or ECDSA P-256/SHA-256, P-384/SHA-384")]
    UnsupportedSignatureAlgorithm,
    #[error("the signed content was altered (digest mismatch)")]
    DigestMismatch,
    #[error("the signature does not verify with the configured IdP certificate(s)")]
    SignatureInvalid,
    #[error("the response's version is not 2.0")]
    UnsupportedVersion,
    #[error("the response's Destination is not this organization's ACS URL")]
    DestinationMismatch,
    #[error("the issuer is not this organization's IdP entity ID")]
    IssuerMismatch,
    #[error("the IdP reported a status other than Success")]
    StatusNotSuccess,
    #[error("the assertion has no usable NameID")]
    MissingNameId,
    /// The NameID is not a valid userName (docs/scim.md, "User names"): it names no user, and
    /// must not be looked up under another rule.
    #[error("the NameID is not a valid userName (compatibility or invisible characters, surrounding whitespace, or too long)")]
    InvalidNameId,
    #[error("the NameID format is not emailAddress or unspecified")]
    UnsupportedNameIdFormat,
    #[error("the assertion has no bearer SubjectConfirmation")]
    NoBearerConfirmation,
    #[error("the SubjectConfirmation Recipient is not this organization's ACS URL")]
    RecipientMismatch,
    #[error("the SubjectConfirmation has expired")]
    SubjectConfirmationExpired,
    #[error("the assertion is not valid yet (NotBefore); check the IdP's clock")]
    NotYetValid,
    #[error("the assertion has expired (NotOnOrAfter)")]
    Expired,
    #[error("the assertion's audience is not this organization's SP entity ID")]
    AudienceMismatch,
    #[error("the response's InResponseTo values disagree")]
    InResponseToMismatch,
    #[error("IdP-initiated sign-on is turned off for this organization; start from the app")]
    IdpInitiatedNotAllowed,
    #[error("this assertion was already used")]
    AssertionReplayed,
    #[error(
        "the response answers a request this service did not make (for this browser), or one already used or expired"
    )]
    UnknownInResponseTo,
    #[error("this user is not provisioned in the organization")]
    UserNotProvisioned,
    #[error("this user is deactivated in the organization")]
    UserInactive,
    #[error(
        "this response answers a sign-in started in another browser; start again from the app"
    )]
    RequestNotFromThisBrowser,
    #[error("the IdP says this session has already ended (SessionNotOnOrAfter)")]
    SessionAlreadyEnded,
}

impl SamlError {
    pub fn code(&self) -> &'static str {
        use SamlError::*;
        match self {
            MalformedResponse => "malformed_response",
            DtdForbidden => "dtd_forbidden",
            ResponseTooComplex => "response_too_complex",
            ResponseTooLarge { .. } => "response_too_large",
            NotAResponse => "not_a_response",
            MissingAssertion => "missing_assertion",
            MultipleAssertions => "multiple_assertions",
            AssertionMisplaced => "assertion_misplaced",
            EncryptedAssertionUnsupported => "encrypted_assertion_unsupported",
            DecryptionKeysNeeded => "decryption_keys_needed",
            EncryptedAssertionRequired => "encrypted_assertion_required",
            MalformedEncryptedAssertion => "malformed_encrypted_assertion",
            UnsupportedEncryptionAlgorithm => "unsupported_encryption_algorithm",
            UnsupportedKeyTransport => "unsupported_key_transport",
            RetrievalMethodForbidden => "retrieval_method_forbidden",
            CipherReferenceForbidden => "cipher_reference_forbidden",
            EncryptedAssertionInvalid => "encrypted_assertion_invalid",
            DuplicateId => "duplicate_id",
            NoIdpCertificate => "no_idp_certificate",
            BadIdpCertificate => "bad_idp_certificate",
            Unsigned => "unsigned",
            UnexpectedSignature => "unexpected_signature",
            MalformedSignature => "malformed_signature",
            TooManyInclusivePrefixes => "too_many_inclusive_prefixes",
            SignatureReferenceMismatch => "signature_reference_mismatch",
            UnsupportedCanonicalization => "unsupported_canonicalization",
            UnsupportedTransform => "unsupported_transform",
            UnsupportedDigestAlgorithm => "unsupported_digest_algorithm",
            UnsupportedSignatureAlgorithm => "unsupported_signature_algorithm",
            DigestMismatch => "digest_mismatch",
            SignatureInvalid => "signature_invalid",
            UnsupportedVersion => "unsupported_version",
            DestinationMismatch => "destination_mismatch",
            IssuerMismatch => "issuer_mismatch",
            StatusNotSuccess => "status_not_success",
            MissingNameId => "missing_name_id",
            InvalidNameId => "invalid_name_id",
            UnsupportedNameIdFormat => "unsupported_name_id_format",
            NoBearerConfirmation => "no_bearer_confirmation",
            RecipientMismatch => "recipient_mismatch",
            SubjectConfirmationExpired => "subject_confirmation_expired",
            NotYetValid => "not_yet_valid",
            Expired => "expired",
            AudienceMismatch => "audience_mismatch",
            InResponseToMismatch => "in_response_to_mismatch",
            IdpInitiatedNotAllowed => "idp_initiated_not_allowed",
            AssertionReplayed => "assertion_replayed",
            UnknownInResponseTo => "unknown_in_response_to",
            UserNotProvisioned => "user_not_provisioned",
            UserInactive => "user_inactive",
            RequestNotFromThisBrowser => "request_not_from_this_browser",
            SessionAlreadyEnded => "session_already_ended",
        }
    }

    /// 403 for "you are who you say, but may not come in"; 503-free: everything else is the
    /// message's fault (400), or the organization's setup (409, like other NotConfigured errors).
    pub fn status(&self) -> http::StatusCode {
        match self {
            SamlError::UserNotProvisioned
            | SamlError::UserInactive
            | SamlError::IdpInitiatedNotAllowed
            | SamlError::RequestNotFromThisBrowser => http::StatusCode::FORBIDDEN,
            SamlError::NoIdpCertificate
            | SamlError::BadIdpCertificate
            | SamlError::EncryptedAssertionUnsupported => http::StatusCode::CONFLICT,
            SamlError::DecryptionKeysNeeded => http::StatusCode::INTERNAL_SERVER_ERROR,
            SamlError::ResponseTooLarge { .. } => http::StatusCode::PAYLOAD_TOO_LARGE,
            _ => http::StatusCode::BAD_REQUEST,
        }
    }
}
