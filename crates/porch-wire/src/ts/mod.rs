//! The wire types the browser SDK speaks, as TypeScript sees them: each frame and body, its
//! fields by their serialized (camelCase) names, their TypeScript types, and whether serde
//! always writes them, skips them when empty (`?:`) or writes them only when true (`?: true`).
//!
//! Plain data, next to the types it describes: `porch_core::sdk_wire` renders it as
//! `web/public/sdk/wire-types.gen.d.ts`, and `porch-core/tests/sdk_wire.rs` holds it to serde:
//! every enum's tags are those serde knows (read from its "unknown variant" error), and each
//! declaration's fields are exactly the keys serde writes for a fully filled example; `tsc`
//! then checks every example against the generated types (`web/test/types/wire-examples.gen.ts`).
//! A field added to a type here, or there, without the other fails one of them.
//!
//! Written by hand rather than derived (ts-rs and the like): nothing joins the dependency
//! tree, and the few serde shapes used here (internal `type` tags, camelCase, skipped empties,
//! one flatten) are all this needs to say. ARCHITECTURE.md, `web/`.

/// One exported TypeScript declaration.
#[derive(Clone, Copy, Debug)]
pub struct Decl {
    pub name: &'static str,
    pub doc: &'static str,
    pub shape: Shape,
}

#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// A struct: an interface; `flatten` names the declarations `#[serde(flatten)]` merges in.
    Object { fields: &'static [Field], flatten: &'static [&'static str] },
    /// A fieldless enum, serialized as its variant's name: a union of string literals.
    Strings(&'static [&'static str]),
    /// An enum tagged internally by `type`: a union of objects.
    Tagged(&'static [Variant]),
}

/// One variant of a `type`-tagged enum: its own fields, or a newtype's whole body.
#[derive(Clone, Copy, Debug)]
pub struct Variant {
    pub tag: &'static str,
    pub doc: &'static str,
    pub fields: &'static [Field],
    pub newtype: Option<&'static str>,
}

#[derive(Clone, Copy, Debug)]
pub struct Field {
    /// As serialized.
    pub name: &'static str,
    /// A TypeScript type expression.
    pub ty: &'static str,
    pub presence: Presence,
    pub doc: &'static str,
}

/// When serde writes a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    Always,
    /// `skip_serializing_if` an empty `Option`, `Vec` or map.
    Optional,
    /// `skip_serializing_if` false: present only as `true`.
    WhenTrue,
}

impl Field {
    pub(crate) const fn doc(self, doc: &'static str) -> Field {
        Field { doc, ..self }
    }
}

pub(crate) const fn req(name: &'static str, ty: &'static str) -> Field {
    Field { name, ty, presence: Presence::Always, doc: "" }
}

pub(crate) const fn opt(name: &'static str, ty: &'static str) -> Field {
    Field { name, ty, presence: Presence::Optional, doc: "" }
}

pub(crate) const fn flag(name: &'static str) -> Field {
    Field { name, ty: "true", presence: Presence::WhenTrue, doc: "" }
}

pub(crate) const fn object(
    name: &'static str,
    doc: &'static str,
    fields: &'static [Field],
) -> Decl {
    Decl { name, doc, shape: Shape::Object { fields, flatten: &[] } }
}

pub(crate) const fn strings(
    name: &'static str,
    doc: &'static str,
    values: &'static [&'static str],
) -> Decl {
    Decl { name, doc, shape: Shape::Strings(values) }
}

pub(crate) const fn variant(
    tag: &'static str,
    doc: &'static str,
    fields: &'static [Field],
) -> Variant {
    Variant { tag, doc, fields, newtype: None }
}

mod frames;
mod rest;

/// Every declaration of `wire-types.gen.d.ts`, in its order: the frames and what they carry,
/// then the REST bodies.
pub const GROUPS: &[&[Decl]] = &[frames::DECLS, rest::DECLS];

/// The declarations, in order.
pub fn decls() -> impl Iterator<Item = &'static Decl> {
    GROUPS.iter().flat_map(|group| group.iter())
}
