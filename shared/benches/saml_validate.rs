//! Full validation of one Okta-shaped response (assertion signed, RSA-2048/SHA-256, ~5.7 KB of
//! XML, base64-encoded as posted), on one thread: base64 decode, parse, structure checks, exclusive
//! C14N of the assertion and of SignedInfo, SHA-256, RSA verify, every condition check. The same
//! response signed with ECDSA P-256/SHA-256 (`validate_okta_response_ecdsa_p256`), and encrypted to
//! the SP key (`validate_okta_response_encrypted_*`: decryption plus the same validation).
//! `cargo bench -p sso-shared --features test-idp --bench saml_validate`
//!
//! `saml_worst` prices hostile posts under the ACS body limit next to the normal validation, in
//! the same run (issue 9, finding 1: the worst post must cost at most ~10x a normal one):
//! - `no_key_*`: what anyone can send: a bogus signature with 32-name PrefixLists, the rest of the
//!   body filled with the costliest structure the limits allow;
//! - `replayed_signature_*`: a genuine, both-signed response (any user of the org can get one)
//!   stuffed inside the assertion, so both SignedInfo signatures verify and both references
//!   (the whole document, then the assertion) are canonicalized and hashed before the digests fail;
//! - `largest_okta_response`: the largest honest response that fits (many groups).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use shared::org::{IdpConfig, Org};
use shared::saml::c14n::{InclusivePrefixes, MAX_ATTRIBUTES, MAX_NAMESPACES};
use shared::saml::keys::SignatureAlgorithm;
use shared::saml::limits::{markup_budget, MAX_ELEMENTS, MAX_NAMESPACE_WORK};
use shared::saml::test_encrypt::{decryption_keys, Encryption};
use shared::saml::test_idp::{
    encode, idp_certificate, idp_ec_p256_certificate, idp_ec_p256_key, idp_key, read_fixture,
    BASE_URL, IDP_ENTITY_ID, ISSUED_AT, ORG,
};
use shared::saml::test_idp::{Signed, Spec};
use shared::saml::validate::{validate, AcsInput, SamlConfig, SamlError};
use shared::saml::verify::EXC_C14N;
use shared::saml::xmlenc::{AES128_CBC, AES256_GCM};

fn org() -> Org {
    org_with(idp_certificate())
}

fn org_with(certificate: String) -> Org {
    let mut org = Org::new(ORG, BASE_URL, 0);
    org.idp = Some(IdpConfig {
        entity_id: IDP_ENTITY_ID.into(),
        sso_url: None,
        certificates: vec![certificate],
    });
    org
}

fn bench(c: &mut Criterion) {
    let org = org();
    let xml = String::from_utf8(read_fixture("okta-assertion-signed/response.xml")).unwrap();
    let posted = encode(&xml);
    let cfg = SamlConfig::for_org(&org).unwrap();
    assert!(validate(
        &AcsInput {
            saml_response: &posted
        },
        &cfg,
        ISSUED_AT
    )
    .is_ok());

    let mut g = c.benchmark_group("saml");
    g.throughput(Throughput::Elements(1));
    g.bench_function("validate_okta_response", |b| {
        b.iter(|| {
            validate(
                &AcsInput {
                    saml_response: &posted,
                },
                &cfg,
                ISSUED_AT,
            )
            .unwrap()
        })
    });
    let ec_org = org_with(idp_ec_p256_certificate());
    let ec_cfg = SamlConfig::for_org(&ec_org).unwrap();
    let ec_posted = encode(
        &Spec {
            key: Some(idp_ec_p256_key()),
            ..Spec::okta(USER)
        }
        .build(),
    );
    g.bench_function("validate_okta_response_ecdsa_p256", |b| {
        b.iter(|| {
            validate(
                &AcsInput {
                    saml_response: &ec_posted,
                },
                &ec_cfg,
                ISSUED_AT,
            )
            .unwrap()
        })
    });
    // The same Okta-shaped response, assertion signed then encrypted (AES-256-GCM, RSA-OAEP
    // SHA-1: Okta's "AES256-GCM" / "RSA-OAEP"), decrypted with the SP key (one RSA-2048 private
    // operation) before the same validation. Compare with `validate_okta_response` as a ratio.
    let mut enc_cfg = SamlConfig::for_org(&org).unwrap();
    enc_cfg.decryption = Some(decryption_keys(&["sp-enc"]));
    for (name, content) in [("aes256_gcm", AES256_GCM), ("aes128_cbc", AES128_CBC)] {
        let mut enc = Encryption::okta();
        enc.content = content.into();
        let enc_posted = encode(
            &Spec {
                encryption: Some(enc),
                ..Spec::okta(USER)
            }
            .build(),
        );
        g.bench_function(format!("validate_okta_response_encrypted_{name}"), |b| {
            b.iter(|| {
                validate(
                    &AcsInput {
                        saml_response: &enc_posted,
                    },
                    &enc_cfg,
                    ISSUED_AT,
                )
                .unwrap()
            })
        });
    }
    // What the ACS does per request: the org's config resolved from the stored org (the parsed
    // keys come from the per-Lambda cache, checked against the org's current certificates).
    g.bench_function("config_and_validate_okta_response", |b| {
        b.iter(|| {
            let cfg = SamlConfig::for_org(&org).unwrap();
            validate(
                &AcsInput {
                    saml_response: &posted,
                },
                &cfg,
                ISSUED_AT,
            )
            .unwrap()
        })
    });
    g.finish();

    // Where the time goes.
    let mut p = c.benchmark_group("saml_parts");
    p.bench_function("parse", |b| {
        b.iter(|| {
            roxmltree::Document::parse(&xml)
                .unwrap()
                .descendants()
                .count()
        })
    });
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let assertion = doc
        .descendants()
        .find(|n| n.tag_name().name() == "Assertion")
        .unwrap();
    let xs = InclusivePrefixes::parse("xs").unwrap();
    p.bench_function("c14n_assertion", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(8192);
            shared::saml::c14n::canonicalize(assertion, None, &xs, &mut out).unwrap();
            out.len()
        })
    });
    let rsa = shared::saml::certificate::verification_key(
        &shared::saml::verify::decode_b64(&idp_certificate()).unwrap(),
    )
    .unwrap();
    let msg = b"<ds:SignedInfo>about a kilobyte in real responses</ds:SignedInfo>";
    let sig = idp_key().sign(SignatureAlgorithm::RsaSha256, msg);
    p.bench_function("rsa2048_verify", |b| {
        b.iter(|| rsa.verify(SignatureAlgorithm::RsaSha256, msg, &sig))
    });
    let ec = shared::saml::certificate::verification_key(
        &shared::saml::verify::decode_b64(&idp_ec_p256_certificate()).unwrap(),
    )
    .unwrap();
    let sig = idp_ec_p256_key().sign(SignatureAlgorithm::EcdsaP256Sha256, msg);
    p.bench_function("ecdsa_p256_verify", |b| {
        b.iter(|| ec.verify(SignatureAlgorithm::EcdsaP256Sha256, msg, &sig))
    });
    p.bench_function("parse_certificate", |b| {
        b.iter(|| shared::saml::verify::IdpKeys::from_certificates(&[idp_certificate()]).unwrap())
    });
    p.finish();
}

const USER: &str = "ada@example.com";

/// An Okta response with 20 profile attributes and `groups` memberships of 32-character names
/// (Okta's shape: one `groups` Attribute, one AttributeValue per group, each declaring `xsi`).
fn okta_with_groups(groups: usize, signed: Signed) -> String {
    let mut s = Spec::okta(USER);
    s.signed = signed;
    s.attributes.extend((0..14).map(|i| {
        (
            format!("customAttribute{i:02}"),
            format!("profile value {i:02}"),
        )
    }));
    let between = r#"</saml2:AttributeValue><saml2:AttributeValue xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">"#;
    let values: Vec<String> = (0..groups)
        .map(|i| format!("Engineering-Platform-Team-{i:06}"))
        .collect();
    s.attributes.push(("groups".into(), values.join(between)));
    s.build()
}

/// The body limit the worst cases are built for: the default, or `ACS_BODY_LIMIT_KIB` (to price
/// the limit a deployment would set).
fn body_limit() -> usize {
    std::env::var("ACS_BODY_LIMIT_KIB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(shared::DEFAULT_ACS_BODY_LIMIT, |kib| kib * 1024)
}

/// The form body the browser posts: what the ACS body limit applies to.
fn form_len(xml: &str) -> usize {
    let encoded: String = url::form_urlencoded::byte_serialize(encode(xml).as_bytes()).collect();
    format!("SAMLResponse={encoded}&RelayState={}", "r".repeat(80)).len()
}

/// The largest `n` for which `make(n)` still fits under the body limit (`make` grows with `n`).
fn largest_under_limit(make: impl Fn(usize) -> String) -> String {
    let limit = body_limit();
    let (mut lo, mut hi) = (0usize, 1usize);
    assert!(form_len(&make(lo)) <= limit);
    while form_len(&make(hi)) <= limit {
        (lo, hi) = (hi, hi * 2);
    }
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if form_len(&make(mid)) <= limit {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    make(lo)
}

/// Namespace declarations a filler inside the assertion may add: the path there already has 3
/// (`saml2p`, `saml2`, `xs`).
const FILLER_DECLS: usize = MAX_NAMESPACES - 3;

/// Markup items (elements, attributes, namespace declarations), as `limits::check` counts them.
fn markup_items(xml: &str) -> usize {
    xmlparser::Tokenizer::from(xml)
        .filter(|t| {
            matches!(
                t,
                Ok(xmlparser::Token::ElementStart { .. } | xmlparser::Token::Attribute { .. })
            )
        })
        .count()
}

/// A filler of exactly `n` bytes for `base`: `head`, as many copies of `el` as every limit lets
/// the whole document hold (the markup budget of its length, the element cap), text for the rest
/// of the `n` bytes, `tail`. The costliest post per byte packs markup up to the budget: every item
/// is a lookup in roxmltree and in C14N, text is only copied.
fn fill(base: &str, head: &str, el: &str, tail: &str, n: usize) -> String {
    let fixed = markup_items(base) + markup_items(&format!("{head}{tail}"));
    let budget = markup_budget(base.len() + n).saturating_sub(fixed);
    let room = n.saturating_sub(head.len() + tail.len());
    let copies = (budget / markup_items(el))
        .min(room / el.len())
        .min(MAX_ELEMENTS - 100 - fixed.min(MAX_ELEMENTS - 100));
    let text = "t".repeat(room - copies * el.len());
    format!("{head}{}{text}{tail}", el.repeat(copies))
}

/// Declarations of `p0`..`p{count-1}` on one element.
fn decls(count: usize) -> String {
    (0..count)
        .map(|i| format!(r#" xmlns:p{i}="urn:p{i}""#))
        .collect()
}

/// The costliest structure per item the limits let through: as many namespaces as may be in
/// scope, declared once, then elements whose name and every attribute the cap allows use a prefix
/// (each a lookup in roxmltree and in C14N), the rest unprefixed.
fn attribute_filler(base: &str, n: usize) -> String {
    let prefixed = FILLER_DECLS.min(MAX_ATTRIBUTES);
    let attrs: String = (0..prefixed)
        .map(|i| format!(r#" p{i}:a="""#))
        .chain((prefixed..MAX_ATTRIBUTES).map(|i| format!(r#" b{i}="""#)))
        .collect();
    let el = format!(r#"<p{}:e{attrs}/>"#, FILLER_DECLS - 1);
    fill(base, &format!("<w{}>", decls(FILLER_DECLS)), &el, "</w>", n)
}

/// As many elements as the limits allow, each using a prefix, then the rest as text.
fn element_filler(base: &str, n: usize) -> String {
    let el = format!("<p{}:e/>", FILLER_DECLS - 1);
    fill(base, &format!("<w{}>", decls(FILLER_DECLS)), &el, "</w>", n)
}

/// The most namespace work the limits allow (children that each declare one namespace under the
/// most bindings), then the attribute filler.
fn namespace_filler(base: &str, n: usize) -> String {
    let m = MAX_NAMESPACES;
    // What the response itself and the attribute filler's root spend of the work cap.
    let children = (MAX_NAMESPACE_WORK - 6 * m * m) / (m * m);
    let child = r#"<c xmlns:z="urn:z"/>"#.repeat(children);
    let head = format!("<v{}>{child}</v>", decls(FILLER_DECLS - 1));
    let with_head = in_assertion(base, &head);
    format!(
        "{head}{}",
        attribute_filler(&with_head, n.saturating_sub(head.len()))
    )
}

/// Character data that the parser must decode reference by reference (its slow path) and C14N
/// must escape again: `&lt;` in text, `&#9;` in attribute values, in 1 KiB elements.
fn reference_filler(base: &str, n: usize) -> String {
    let el = format!(r#"<e a="{}">{}</e>"#, "&#9;".repeat(64), "&lt;".repeat(192));
    fill(base, "<w>", &el, "</w>", n)
}

fn in_assertion(xml: &str, filler: &str) -> String {
    xml.replacen("<saml2:Subject>", &format!("{filler}<saml2:Subject>"), 1)
}

/// Anyone's post: a Response with a bogus, 32-prefix signature (the filler goes beside it).
fn no_key() -> String {
    let list: String = (0..32).map(|i| format!("p{i} ")).collect();
    let good = Spec::okta(USER).build();
    good.replacen(r#"PrefixList="xs""#, &format!(r#"PrefixList="{list}""#), 1)
        .replacen(
            &format!(r#"<ds:CanonicalizationMethod Algorithm="{EXC_C14N}"/>"#),
            &format!(
                r#"<ds:CanonicalizationMethod Algorithm="{EXC_C14N}"><ec:InclusiveNamespaces xmlns:ec="{EXC_C14N}" PrefixList="{list}"/></ds:CanonicalizationMethod>"#
            ),
            1,
        )
}

fn bench_worst(c: &mut Criterion) {
    let org = org();
    let cfg = SamlConfig::for_org(&org).unwrap();
    let normal =
        encode(&String::from_utf8(read_fixture("okta-assertion-signed/response.xml")).unwrap());
    let both = Spec {
        signed: Signed::Both,
        ..Spec::okta(USER)
    }
    .build();
    let no_key = no_key();
    let filled = |base: &str, filler: fn(&str, usize) -> String| {
        largest_under_limit(|n| in_assertion(base, &filler(base, n)))
    };
    let cases: Vec<(&str, String, Result<(), SamlError>)> = vec![
        (
            "no_key_attribute_filler",
            filled(&no_key, attribute_filler),
            Err(SamlError::SignatureInvalid),
        ),
        (
            "replayed_signature_attribute_filler",
            filled(&both, attribute_filler),
            Err(SamlError::DigestMismatch),
        ),
        (
            "replayed_signature_element_filler",
            filled(&both, element_filler),
            Err(SamlError::DigestMismatch),
        ),
        (
            "replayed_signature_namespace_filler",
            filled(&both, namespace_filler),
            Err(SamlError::DigestMismatch),
        ),
        (
            "replayed_signature_reference_filler",
            filled(&both, reference_filler),
            Err(SamlError::DigestMismatch),
        ),
        (
            "largest_okta_response",
            largest_under_limit(|n| okta_with_groups(n, Signed::Both)),
            Ok(()),
        ),
    ];

    bench_phases(c, &normal, &cases);

    let mut g = c.benchmark_group("saml_worst");
    g.bench_function("normal_okta_response", |b| {
        b.iter(|| {
            validate(
                &AcsInput {
                    saml_response: &normal,
                },
                &cfg,
                ISSUED_AT,
            )
            .unwrap()
        })
    });
    for (name, xml, expected) in &cases {
        let posted = encode(xml);
        let run = || {
            validate(
                &AcsInput {
                    saml_response: &posted,
                },
                &cfg,
                ISSUED_AT,
            )
            .map(|_| ())
        };
        assert_eq!(&run(), expected, "{name}");
        eprintln!(
            "{name}: {} B of XML, {} B posted (limit {})",
            xml.len(),
            form_len(xml),
            body_limit()
        );
        g.bench_function(*name, |b| b.iter(run));
    }
    g.finish();
}

/// Where a post's time goes, phase by phase, for the normal response and each worst case (the
/// sum is about the full validation less the signature checks): `base64` decode, the `limits`
/// pass (xmlparser), the roxmltree `parse`, exclusive `c14n` of the assertion (where the fillers
/// sit), `sha256` of that output. Per-byte cost of crafted input = these over its length.
fn bench_phases(c: &mut Criterion, normal: &str, cases: &[(&str, String, Result<(), SamlError>)]) {
    let normal_xml = String::from_utf8(shared::saml::verify::decode_b64(normal).unwrap()).unwrap();
    let all: Vec<(&str, String)> = std::iter::once(("normal_okta_response", normal_xml))
        .chain(cases.iter().map(|(n, x, _)| (*n, x.clone())))
        .collect();
    let opts = || roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 50_000,
        ..roxmltree::ParsingOptions::default()
    };
    let mut g = c.benchmark_group("saml_phases");
    for (name, xml) in &all {
        let posted = encode(xml);
        g.bench_function(format!("base64/{name}"), |b| {
            b.iter(|| shared::saml::verify::decode_b64(&posted).unwrap().len())
        });
        g.bench_function(format!("limits/{name}"), |b| {
            b.iter(|| shared::saml::limits::check(xml).is_ok())
        });
        g.bench_function(format!("parse/{name}"), |b| {
            b.iter(|| {
                roxmltree::Document::parse_with_options(xml, opts())
                    .unwrap()
                    .root()
                    .id()
            })
        });
        let doc = roxmltree::Document::parse_with_options(xml, opts()).unwrap();
        let assertion = doc
            .descendants()
            .find(|n| n.tag_name().name() == "Assertion")
            .unwrap();
        let xs = InclusivePrefixes::parse("xs").unwrap();
        let mut out = Vec::with_capacity(xml.len());
        g.bench_function(format!("c14n/{name}"), |b| {
            b.iter(|| {
                out.clear();
                shared::saml::c14n::canonicalize(assertion, None, &xs, &mut out).unwrap();
                out.len()
            })
        });
        g.bench_function(format!("sha256/{name}"), |b| {
            b.iter(|| aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &out).as_ref()[0])
        });
        eprintln!("{name}: {} B of XML, {} B canonical", xml.len(), out.len());
    }
    g.finish();
}

criterion_group!(benches, bench, bench_worst);
criterion_main!(benches);
