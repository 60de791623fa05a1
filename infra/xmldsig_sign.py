#!/usr/bin/env python3
"""Signs a SAML Response with signxml (lxml/libxml2 C14N, `cryptography` ECDSA and RSA): an XML-DSig
implementation independent of ours, for the end-to-end tests of issue 13 (tests/integration/xmldsig_independent.rs).

    xmldsig_sign.py KEY.pk8.der CERT.b64 ELEMENT ALGORITHM < unsigned.xml > signed.xml

KEY is a PKCS#8 DER private key and CERT one base64 DER certificate (the formats of
shared/tests/fixtures/saml).

ELEMENT is `assertion` or `response` (the element whose ID the Reference names; the Signature is
enveloped in it, placed after its Issuer as SAML core §2.3.3/§3.2.2 want). ALGORITHM is a signxml
SignatureMethod name: ECDSA_SHA256, ECDSA_SHA384, RSA_SHA256, ... Exclusive C14N and SHA-256
digests throughout (Okta's shape). TEST ONLY: the keys it is given are published test keys.
"""
import base64
import sys

from cryptography.hazmat.primitives.serialization import load_der_private_key
from lxml import etree
from signxml import XMLSigner, methods
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
DS = "http://www.w3.org/2000/09/xmldsig#"


def main() -> None:
    key_path, cert_path, which, algorithm = sys.argv[1:5]
    key = load_der_private_key(open(key_path, "rb").read(), password=None)
    b64 = open(cert_path).read().strip()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    cert = "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
    root = etree.fromstring(sys.stdin.buffer.read())
    if which == "assertion":
        target = root.find(f"{{{SAML}}}Assertion")
    else:
        target = root
    issuer = target.find(f"{{{SAML}}}Issuer")
    # signxml fills a Signature element with Id="placeholder" in place (its documented way to
    # choose where an enveloped signature goes).
    placeholder = etree.Element(f"{{{DS}}}Signature", nsmap={"ds": DS}, Id="placeholder")
    issuer.addnext(placeholder)
    signer = XMLSigner(
        method=methods.enveloped,
        signature_algorithm=SignatureMethod[algorithm],
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signer.namespaces = {"ds": DS}
    signed_target = signer.sign(
        target, key=key, cert=cert, reference_uri=target.get("ID"), id_attribute="ID"
    )
    # sign() returns a signed copy of `target`: put it where the original was.
    if which == "response":
        out = signed_target
    else:
        root.replace(target, signed_target)
        out = root
    sys.stdout.buffer.write(etree.tostring(out, xml_declaration=True, encoding="UTF-8"))


if __name__ == "__main__":
    main()
