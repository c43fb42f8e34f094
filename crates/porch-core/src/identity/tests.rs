//! The identity token verifier, refusal by refusal: each has its own code, whatever else is
//! wrong with the token after it.

use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use serde_json::{Value, json};

use super::*;

const DEP: &str = "dep_1";
const NOW: i64 = 1_795_694_403;

fn expect() -> IdentityExpectation<'static> {
    IdentityExpectation {
        deployment_id: DEP,
        now_secs: NOW,
        leeway_secs: 30,
        lifetime_max_secs: 300,
    }
}

fn good_claims() -> Value {
    json!({"sub": "crm-42", "name": "Ann", "email": "ann@example.com", "aud": DEP,
           "iat": NOW, "exp": NOW + 120, "jti": "2b1f0c3e-0001"})
}

/// A signer for one key: what a builder's backend does.
enum Signer {
    Hs(Vec<u8>),
    Es(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl Signer {
    fn sign(&self, header: &Value, claims: &Value) -> String {
        let signed = format!(
            "{}.{}",
            B64.encode(serde_json::to_vec(header).unwrap()),
            B64.encode(serde_json::to_vec(claims).unwrap())
        );
        let signature = match self {
            Signer::Hs(secret) => {
                hmac_sha256(secret, signed.as_bytes()).finalize().into_bytes().to_vec()
            }
            Signer::Es(pair) => {
                pair.sign(&SystemRandom::new(), signed.as_bytes()).unwrap().as_ref().to_vec()
            }
            Signer::Ed(pair) => pair.sign(signed.as_bytes()).as_ref().to_vec(),
        };
        format!("{signed}.{}", B64.encode(signature))
    }
}

/// One key of each algorithm on `DEP`, with its signer.
fn keys() -> Vec<(IdentityKey, Signer)> {
    let rng = SystemRandom::new();
    let hs = IdentityKey::generate_hs256(DEP);
    let hs_signer = Signer::Hs(hs.material.clone());

    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let es_pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = es_pair.public_key().as_ref().to_vec();
    let es_jwk = json!({"kty": "EC", "crv": "P-256", "kid": "shop-es-1",
        "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65])});
    let es = IdentityKey::from_jwk(DEP, &es_jwk.to_string()).unwrap();

    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let ed_pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let ed_jwk = json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA",
        "x": B64.encode(ed_pair.public_key().as_ref())});
    let ed = IdentityKey::from_jwk(DEP, &ed_jwk.to_string()).unwrap();
    vec![(hs, hs_signer), (es, Signer::Es(es_pair)), (ed, Signer::Ed(ed_pair))]
}

fn header(key: &IdentityKey) -> Value {
    json!({"alg": key.algorithm.as_str(), "typ": "JWT", "kid": key.kid})
}

fn code(result: Result<IdentityClaims, TokenError>) -> ErrorCode {
    result.expect_err("refused").code
}

#[test]
fn a_good_token_of_each_algorithm_is_accepted() {
    let pairs = keys();
    let registered: Vec<IdentityKey> = pairs.iter().map(|(k, _)| k.clone()).collect();
    for (key, signer) in &pairs {
        let token = signer.sign(&header(key), &good_claims());
        let claims = verify(&token, &registered, &expect()).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.name.as_deref(), claims.jti.as_str(), claims.kid.as_str()),
            ("crm-42", Some("Ann"), "2b1f0c3e-0001", key.kid.as_str()),
            "{:?}",
            key.algorithm
        );
    }
    let array_aud =
        json!({"sub": "crm-42", "aud": ["other", DEP], "iat": NOW, "exp": NOW + 60, "jti": "j"});
    let (key, signer) = &pairs[0];
    assert!(verify(&signer.sign(&header(key), &array_aud), &registered, &expect()).is_ok());
}

#[test]
fn each_refusal_has_its_own_code() {
    let pairs = keys();
    let registered: Vec<IdentityKey> = pairs.iter().map(|(k, _)| k.clone()).collect();
    let (hs, hs_signer) = &pairs[0];
    let (es, es_signer) = &pairs[1];
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = good_claims();
        change(&mut claims);
        hs_signer.sign(&header(hs), &claims)
    };
    let check = |token: &str| code(verify(token, &registered, &expect()));

    assert_eq!(check(&with(&|c| c["exp"] = json!(NOW - 31))), ErrorCode::IdentityExpired);
    assert_eq!(check(&with(&|c| c["iat"] = json!(NOW + 31))), ErrorCode::IdentityNotYetValid);
    assert_eq!(check(&with(&|c| c["nbf"] = json!(NOW + 31))), ErrorCode::IdentityNotYetValid);
    assert_eq!(check(&with(&|c| c["exp"] = json!(NOW + 331))), ErrorCode::IdentityLifetimeTooLong);
    assert_eq!(check(&with(&|c| c["aud"] = json!("dep_2"))), ErrorCode::IdentityAudienceWrong);
    assert_eq!(check(&with(&|c| c["aud"] = json!([]))), ErrorCode::IdentityAudienceWrong);
    assert_eq!(
        check(&with(&|c| {
            c.as_object_mut().unwrap().remove("aud");
        })),
        ErrorCode::IdentityAudienceWrong
    );
    assert_eq!(
        check(&with(&|c| {
            c.as_object_mut().unwrap().remove("sub");
        })),
        ErrorCode::IdentitySubjectMissing
    );
    assert_eq!(check(&with(&|c| c["sub"] = json!(" "))), ErrorCode::IdentitySubjectMissing);
    assert_eq!(
        check(&with(&|c| {
            c.as_object_mut().unwrap().remove("jti");
        })),
        ErrorCode::IdentityTokenMalformed
    );
    assert_eq!(
        check(&with(&|c| c["jti"] = json!("j".repeat(129)))),
        ErrorCode::IdentityTokenMalformed
    );
    assert_eq!(
        check(&with(&|c| {
            c.as_object_mut().unwrap().remove("iat");
        })),
        ErrorCode::IdentityTokenMalformed
    );

    // The key: its kid must be registered on this deployment; its algorithm is the only one.
    let unknown = hs_signer.sign(&json!({"alg": "HS256", "kid": "idk_nobody"}), &good_claims());
    assert_eq!(check(&unknown), ErrorCode::IdentityKeyUnknown);
    let no_kid = hs_signer.sign(&json!({"alg": "HS256"}), &good_claims());
    assert_eq!(check(&no_kid), ErrorCode::IdentityKeyUnknown);
    let elsewhere = IdentityExpectation { deployment_id: "dep_2", ..expect() };
    let token = hs_signer.sign(
        &header(hs),
        &json!({"sub": "x", "aud": "dep_2", "iat": NOW, "exp": NOW + 60, "jti": "j"}),
    );
    assert_eq!(
        code(verify(&token, &registered, &elsewhere)),
        ErrorCode::IdentityKeyUnknown,
        "a key of dep_1 does not sign for dep_2"
    );

    // The classic confusion: an HMAC over the ES256 key's public point, header alg HS256.
    let public_as_secret = Signer::Hs(es.material.clone());
    let confused = public_as_secret.sign(&json!({"alg": "HS256", "kid": es.kid}), &good_claims());
    assert_eq!(check(&confused), ErrorCode::IdentityAlgorithmWrong);
    for alg in ["none", "ES256", "RS256", "hs256"] {
        let token = hs_signer.sign(&json!({"alg": alg, "kid": hs.kid}), &good_claims());
        assert_eq!(check(&token), ErrorCode::IdentityAlgorithmWrong, "alg {alg}");
    }
    let none = format!("{}.{}.", B64.encode(br#"{"alg":"none","kid":"x"}"#), B64.encode(b"{}"));
    assert_eq!(check(&none), ErrorCode::IdentityKeyUnknown);

    // Signatures: another key's, an altered payload, an altered signature.
    let forged = es_signer.sign(&json!({"alg": "ES256", "kid": pairs[2].0.kid}), &good_claims());
    assert_eq!(check(&forged), ErrorCode::IdentityAlgorithmWrong, "ES256 header on an EdDSA key");
    let wrong_secret = Signer::Hs(vec![7; 32]).sign(&header(hs), &good_claims());
    assert_eq!(check(&wrong_secret), ErrorCode::IdentitySignatureInvalid);
    let good = es_signer.sign(&header(es), &good_claims());
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut altered = good_claims();
    altered["sub"] = json!("crm-1");
    parts[1] = B64.encode(serde_json::to_vec(&altered).unwrap());
    assert_eq!(check(&parts.join(".")), ErrorCode::IdentitySignatureInvalid);
    let mut signature = B64.decode(good.rsplit('.').next().unwrap()).unwrap();
    signature[10] ^= 1;
    let (signed, _) = good.rsplit_once('.').unwrap();
    assert_eq!(
        check(&format!("{signed}.{}", B64.encode(signature))),
        ErrorCode::IdentitySignatureInvalid
    );
}

#[test]
fn shapes_and_sizes_are_checked_before_anything_else() {
    let pairs = keys();
    let registered: Vec<IdentityKey> = pairs.iter().map(|(k, _)| k.clone()).collect();
    let check = |token: &str| code(verify(token, &registered, &expect()));
    for token in ["", "a.b", "a.b.c.d", "!!!.e30.e30", "e30.e30.e30"] {
        let got = check(token);
        assert!(
            matches!(got, ErrorCode::IdentityTokenMalformed | ErrorCode::IdentityKeyUnknown),
            "{token}: {got}"
        );
    }
    assert_eq!(check(&"a".repeat(IDENTITY_TOKEN_BYTES_MAX + 1)), ErrorCode::IdentityTokenMalformed);
    for error in [check("e30.e30.e30"), check("a.b")] {
        assert_ne!(error, ErrorCode::IdentitySignatureInvalid);
    }
}

#[test]
fn jwks_are_read_strictly() {
    let private = json!({"kty": "OKP", "crv": "Ed25519", "x": B64.encode([1u8; 32]), "d": B64.encode([2u8; 32])});
    assert!(IdentityKey::from_jwk(DEP, &private.to_string()).unwrap_err().contains("private"));
    let rsa = json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"});
    assert!(IdentityKey::from_jwk(DEP, &rsa.to_string()).unwrap_err().contains("EC P-256"));
    let short = json!({"kty": "OKP", "crv": "Ed25519", "x": B64.encode([1u8; 31])});
    assert!(IdentityKey::from_jwk(DEP, &short.to_string()).unwrap_err().contains("32 expected"));
    let mislabelled =
        json!({"kty": "OKP", "crv": "Ed25519", "alg": "ES256", "x": B64.encode([1u8; 32])});
    assert!(IdentityKey::from_jwk(DEP, &mislabelled.to_string()).unwrap_err().contains("alg"));
    let bad_kid = json!({"kty": "OKP", "crv": "Ed25519", "kid": "a b", "x": B64.encode([1u8; 32])});
    assert!(IdentityKey::from_jwk(DEP, &bad_kid.to_string()).unwrap_err().contains("kid"));
    // A public key round-trips through its listing.
    let (es, _) = keys().remove(1);
    let listed = es.public_jwk().unwrap();
    let again = IdentityKey::from_jwk(DEP, &listed.to_string()).unwrap();
    assert_eq!((again.kid, again.material), (es.kid.clone(), es.material.clone()));
    assert!(IdentityKey::generate_hs256(DEP).public_jwk().is_none());
    assert!(!format!("{:?}", IdentityKey::generate_hs256(DEP)).contains("material"));
}
