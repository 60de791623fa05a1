//! Full validation of one Okta-shaped response (assertion signed, RSA-2048/SHA-256, ~5.7 KB of
//! XML, base64-encoded as posted), on one thread: base64 decode, parse, structure checks, exclusive
//! C14N of the assertion and of SignedInfo, SHA-256, RSA verify, every condition check.
//! `cargo bench -p sso-shared --bench saml_validate`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use shared::org::{IdpConfig, Org};
use shared::saml::test_idp::{
    encode, idp_certificate, read_fixture, BASE_URL, IDP_ENTITY_ID, ISSUED_AT, ORG,
};
use shared::saml::validate::{validate, AcsInput, SamlConfig};

fn org() -> Org {
    let mut org = Org::new(ORG, BASE_URL, 0);
    org.idp = Some(IdpConfig {
        entity_id: IDP_ENTITY_ID.into(),
        sso_url: None,
        certificates: vec![idp_certificate()],
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
    // What the ACS does per request: the org's certificate is parsed each time too.
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
    p.bench_function("c14n_assertion", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(8192);
            shared::saml::c14n::canonicalize(assertion, None, &["xs"], &mut out).unwrap();
            out.len()
        })
    });
    let key = shared::saml::test_idp::idp_key();
    let public = rsa::PublicKey::from(&key);
    let hashed = <sha2::Sha256 as sha2::Digest>::digest(b"x").to_vec();
    let sig = key
        .sign(rsa::Pkcs1v15Sign::new::<rsa::sha2::Sha256>(), &hashed)
        .unwrap();
    p.bench_function("rsa2048_verify", |b| {
        b.iter(|| {
            public
                .verify(rsa::Pkcs1v15Sign::new::<rsa::sha2::Sha256>(), &hashed, &sig)
                .is_ok()
        })
    });
    p.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
