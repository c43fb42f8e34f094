//! `web/public/sdk/wire-types.gen.d.ts`: the frames and REST bodies of `porch_wire::ts`,
//! written as TypeScript, and `web/test/types/wire-examples.gen.ts`, serialized Rust values
//! typed by them, which `tsc -p web` checks (a field serde writes that the types lack, or one
//! the types require that serde leaves out, is a type error there).

use std::fmt::Write as _;

use porch_wire::ts::{Decl, Field, Presence, Shape, Variant, decls};

use super::HEADER;

/// `web/public/sdk/wire-types.gen.d.ts`.
pub fn typescript() -> String {
    let mut out = String::from(HEADER);
    out.push_str(
        "// The frames and REST bodies, as serde writes them (docs/protocol.md, docs/api.md).\n\n",
    );
    out.push_str("import type { ErrorCode } from './wire.gen.js';\n");
    for decl in decls() {
        out.push('\n');
        declaration(&mut out, decl);
    }
    out
}

fn declaration(out: &mut String, decl: &Decl) {
    let _ = writeln!(out, "/** {} */", decl.doc);
    match decl.shape {
        Shape::Object { fields, flatten } => {
            let extends = if flatten.is_empty() {
                String::new()
            } else {
                format!(" extends {}", flatten.join(", "))
            };
            let _ = writeln!(out, "export interface {}{extends} {{", decl.name);
            for field in fields {
                if !field.doc.is_empty() {
                    let _ = writeln!(out, "  /** {} */", field.doc);
                }
                let _ = writeln!(out, "  {};", member(field));
            }
            out.push_str("}\n");
        }
        Shape::Strings(values) => {
            let values: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
            let _ = writeln!(out, "export type {} = {};", decl.name, values.join(" | "));
        }
        Shape::Tagged(variants) => {
            let _ = writeln!(out, "export type {} =", decl.name);
            for (i, variant) in variants.iter().enumerate() {
                let end = if i + 1 == variants.len() { ";" } else { "" };
                let _ = writeln!(out, "  /** {} */\n  | {}{end}", variant.doc, tagged(variant));
            }
        }
    }
}

/// One variant as an object type: its `type` tag and its fields, or the newtype's body.
fn tagged(variant: &Variant) -> String {
    let tag = format!("type: '{}'", variant.tag);
    if let Some(body) = variant.newtype {
        return format!("({{ {tag} }} & {body})");
    }
    let mut members = vec![tag];
    members.extend(variant.fields.iter().map(member));
    format!("{{ {} }}", members.join("; "))
}

fn member(field: &Field) -> String {
    let optional = if field.presence == Presence::Always { "" } else { "?" };
    format!("{}{optional}: {}", field.name, field.ty)
}

/// `web/test/types/wire-examples.gen.ts`: each example, typed by its declaration.
pub fn examples_typescript(examples: &[(&str, serde_json::Value)]) -> String {
    let mut out = String::from(HEADER);
    out.push_str(
        "// Serialized Rust values (crates/porch-core/src/sdk_wire/examples.rs), each typed by the\n\
         // generated declaration of its type: `tsc -p web` fails when serde writes what the\n\
         // declarations do not say. Compiled, never run.\n\n",
    );
    out.push_str("import type * as Wire from '../../public/sdk/wire-types.gen.js';\n\n");
    for (i, (name, value)) in examples.iter().enumerate() {
        let json = serde_json::to_string(value).expect("a JSON value serializes");
        let _ = writeln!(out, "export const example{i}: Wire.{name} = {json};");
    }
    out
}
