#!/usr/bin/env python3
"""Encrypts the assertion of a (signed) SAML Response with python-xmlsec (the xmlsec1 C library on
OpenSSL, as bundled in its PyPI wheel; pinned in infra/requirements.txt): an XML Encryption
implementation independent of ours, for the end-to-end tests of issue 13 item 3
(tests/integration/xmlenc_independent.rs).

    xmlenc_encrypt.py CERT.b64 CONTENT KEY_TRANSPORT < signed.xml > encrypted.xml

CERT is the SP's encryption certificate (base64 DER, the format of shared/tests/fixtures/saml).
CONTENT is aes128-cbc, aes256-cbc, aes128-gcm or aes256-gcm. KEY_TRANSPORT is `rsa-oaep-mgf1p`
(SHA-1), `rsa-oaep-sha256` (xmlenc11#rsa-oaep, SHA-256 digest, MGF1-SHA-256) or
`rsa-oaep-mgf1p-sha256` (SHA-256 digest with MGF1-SHA-1: a combination the SP refuses).
The assertion is replaced by `<saml2:EncryptedAssertion><xenc:EncryptedData>` with the
EncryptedKey in its KeyInfo (Okta's shape, SAML core §2.3.4). TEST ONLY.
"""
import base64
import sys

import xmlsec
from lxml import etree

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"
DS = "http://www.w3.org/2000/09/xmldsig#"

CONTENT = {
    "aes128-cbc": (xmlsec.constants.TransformAes128Cbc, 128),
    "aes256-cbc": (xmlsec.constants.TransformAes256Cbc, 256),
    "aes128-gcm": (xmlsec.constants.TransformAes128Gcm, 128),
    "aes256-gcm": (xmlsec.constants.TransformAes256Gcm, 256),
}


def main() -> None:
    cert_path, content, transport = sys.argv[1:4]
    b64 = open(cert_path).read().strip()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    pem = ("-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n").encode()
    root = etree.fromstring(sys.stdin.buffer.read())
    assertion = root.find(f"{{{SAML}}}Assertion")

    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatCertPem, None))
    algorithm, bits = CONTENT[content]
    enc_data = xmlsec.template.encrypted_data_create(
        root, algorithm, type=xmlsec.constants.TypeEncElement, ns="xenc"
    )
    xmlsec.template.encrypted_data_ensure_cipher_value(enc_data)
    key_info = xmlsec.template.encrypted_data_ensure_key_info(enc_data, ns="ds")
    enc_key = xmlsec.template.add_encrypted_key(key_info, xmlsec.constants.TransformRsaOaep)
    xmlsec.template.encrypted_data_ensure_cipher_value(enc_key)
    method = enc_key.find(f"{{{XENC}}}EncryptionMethod")
    if transport == "rsa-oaep-sha256":
        method.set("Algorithm", XENC11 + "rsa-oaep")
        etree.SubElement(method, f"{{{DS}}}DigestMethod", Algorithm=XENC + "sha256")
        etree.SubElement(method, f"{{{XENC11}}}MGF", Algorithm=XENC11 + "mgf1sha256")
    elif transport == "rsa-oaep-mgf1p-sha256":
        etree.SubElement(method, f"{{{DS}}}DigestMethod", Algorithm=XENC + "sha256")
    elif transport != "rsa-oaep-mgf1p":
        raise SystemExit(f"unknown key transport {transport}")

    ctx = xmlsec.EncryptionContext(manager)
    ctx.key = xmlsec.Key.generate(xmlsec.constants.KeyDataAes, bits, xmlsec.constants.KeyDataTypeSession)
    encrypted = ctx.encrypt_xml(enc_data, assertion)
    # encrypt_xml put the EncryptedData where the assertion was: wrap it (SAML core §2.3.4).
    wrapper = etree.Element(f"{{{SAML}}}EncryptedAssertion", nsmap={"saml2": SAML})
    encrypted.addprevious(wrapper)
    wrapper.append(encrypted)
    sys.stdout.buffer.write(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


if __name__ == "__main__":
    main()
