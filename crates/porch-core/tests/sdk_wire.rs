//! The SDK's generated wire files are what `porch_core::sdk_wire` writes from `porch-wire`
//! and the limits table. `PORCH_UPDATE_DOCS=1` rewrites them (scripts/regen-sdk-wire.sh);
//! then read the diff, and run the SDK's tests.
//!
//! The declarations of the frames and REST bodies (`porch_wire::ts`) are held to serde here:
//! their enums' tags and structs' fields are those serde knows, and the examples (Rust values,
//! serialized) carry every declared field and leave out only optional ones. `tsc -p web` then
//! types each example by its declaration (`web/test/types/wire-examples.gen.ts`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use porch_core::sdk_wire;
use porch_core::sdk_wire::examples::{examples, serde_fields, serde_tags};
use porch_wire::ts::{Decl, Field, Presence, Shape, decls};

fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}

fn check(relative: &str, expected: &str) {
    let path = repo_path(relative);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == expected {
        return;
    }
    if std::env::var_os("PORCH_UPDATE_DOCS").is_some() {
        std::fs::write(&path, expected).expect("the SDK folder is writable");
        return;
    }
    panic!(
        "{relative} differs from what porch-wire and limits.rs produce; regenerate it with \
         scripts/regen-sdk-wire.sh (PORCH_UPDATE_DOCS=1), read the diff, run the SDK's tests"
    );
}

#[test]
fn the_sdk_wire_constants_are_generated_from_porch_wire() {
    check("web/public/sdk/wire.gen.js", &sdk_wire::javascript());
}

#[test]
fn the_sdk_wire_types_are_generated_from_porch_wire() {
    check("web/public/sdk/wire.gen.d.ts", &sdk_wire::typescript());
}

#[test]
fn the_sdk_frame_and_body_types_are_generated_from_porch_wire() {
    check("web/public/sdk/wire-types.gen.d.ts", &sdk_wire::types::typescript());
    check(
        "web/test/types/wire-examples.gen.ts",
        &sdk_wire::types::examples_typescript(&examples()),
    );
}

fn decl(name: &str) -> &'static Decl {
    decls().find(|d| d.name == name).unwrap_or_else(|| panic!("porch_wire::ts declares no {name}"))
}

fn names(fields: &[Field]) -> Vec<&'static str> {
    fields.iter().map(|f| f.name).collect()
}

#[test]
fn declared_enums_list_the_tags_serde_knows() {
    let tags = serde_tags();
    for (name, serde) in &tags {
        let declared: Vec<&str> = match decl(name).shape {
            Shape::Strings(values) => values.to_vec(),
            Shape::Tagged(variants) => variants.iter().map(|v| v.tag).collect(),
            Shape::Object { .. } => panic!("{name} is an enum, declared as an object"),
        };
        assert_eq!(&declared, serde, "porch_wire::ts's {name} lists other tags than serde");
    }
    for d in decls().filter(|d| !matches!(d.shape, Shape::Object { .. })) {
        assert!(tags.iter().any(|(n, _)| *n == d.name), "serde_tags() lacks {}", d.name);
    }
}

#[test]
fn declared_structs_list_the_fields_serde_reads() {
    let serde = serde_fields();
    for (name, fields) in &serde {
        let Shape::Object { fields: declared, .. } = decl(name).shape else {
            panic!("{name} is a struct, declared as an enum");
        };
        assert_eq!(
            &names(declared),
            fields,
            "porch_wire::ts's {name} lists other fields than serde"
        );
    }
    for d in decls() {
        if let Shape::Object { flatten: [], .. } = d.shape {
            assert!(serde.iter().any(|(n, _)| *n == d.name), "serde_fields() lacks {}", d.name);
        }
    }
}

/// Every declared field shows in some example, each example has every field written always,
/// nothing undeclared, and a field written only when true is `true`.
fn check_examples(what: &str, fields: &[Field], seen: &[&serde_json::Value]) {
    assert!(!seen.is_empty(), "no example of {what} (sdk_wire/examples.rs)");
    let mut union = BTreeSet::new();
    for example in seen {
        let object =
            example.as_object().unwrap_or_else(|| panic!("{what}: {example} is no object"));
        for (key, value) in object {
            let field = fields.iter().find(|f| f.name == key);
            let field = field.unwrap_or_else(|| panic!("{what}: serde writes `{key}`, undeclared"));
            if field.presence == Presence::WhenTrue {
                assert_eq!(
                    value,
                    &serde_json::Value::Bool(true),
                    "{what}.{key} is written only as true"
                );
            }
            union.insert(key.as_str());
        }
        for field in fields.iter().filter(|f| f.presence == Presence::Always) {
            assert!(
                object.contains_key(field.name),
                "{what}: `{}` is declared always there",
                field.name
            );
        }
    }
    let missing: Vec<&str> = fields.iter().map(|f| f.name).filter(|n| !union.contains(n)).collect();
    assert!(
        missing.is_empty(),
        "{what}: no example sets {missing:?}: fill them in sdk_wire/examples.rs"
    );
}

fn object_fields(d: &Decl) -> Vec<Field> {
    let Shape::Object { fields, flatten } = d.shape else { panic!("{} is not an object", d.name) };
    let mut all = fields.to_vec();
    for name in flatten {
        all.extend(object_fields(decl(name)));
    }
    all
}

#[test]
fn the_examples_carry_every_declared_field_and_nothing_else() {
    let all = examples();
    let of = |name: &str| -> Vec<&serde_json::Value> {
        all.iter().filter(|(n, _)| *n == name).map(|(_, v)| v).collect()
    };
    for d in decls() {
        match d.shape {
            Shape::Object { .. } => check_examples(d.name, &object_fields(d), &of(d.name)),
            Shape::Strings(_) => {}
            Shape::Tagged(variants) => {
                for v in variants {
                    let mut fields = match v.newtype {
                        Some(body) => object_fields(decl(body)),
                        None => v.fields.to_vec(),
                    };
                    fields.push(Field {
                        name: "type",
                        ty: "",
                        presence: Presence::Always,
                        doc: "",
                    });
                    let tagged: Vec<&serde_json::Value> =
                        of(d.name).into_iter().filter(|e| e["type"] == v.tag).collect();
                    check_examples(&format!("{}.{}", d.name, v.tag), &fields, &tagged);
                }
            }
        }
    }
    for (name, _) in &all {
        decl(name);
    }
}
