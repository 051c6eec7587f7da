//! Query parameters declared once for the operations that share them (an original operation and its paged
//! twin), through utoipa's `params(Type)`. Written with utoipa's builders because its `IntoParams` derive
//! cannot attach the `x-ms-*` extensions (display name, visibility) that makers see; the result is the same
//! parameter the inline `params(...)` form declares, which the committed documents show.

use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{Object, Required};

/// An optional query parameter with its display name and, if it is not for makers to fill in, its visibility.
pub fn optional_query(
    name: &str,
    schema: Object,
    description: &str,
    summary: &str,
    visibility: Option<&str>,
) -> Parameter {
    let mut extensions = ExtensionsBuilder::new().add("x-ms-summary", summary);
    if let Some(visibility) = visibility {
        extensions = extensions.add("x-ms-visibility", visibility);
    }
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .extensions(Some(extensions.build()))
        .build()
}

/// A string matching `pattern`.
pub fn string_matching(pattern: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .build()
}

/// A 32-bit integer from `minimum` to `maximum`.
pub fn integer_between(minimum: i32, maximum: i32) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
        .minimum(Some(minimum))
        .maximum(Some(maximum))
        .build()
}
