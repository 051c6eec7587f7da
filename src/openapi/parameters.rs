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

/// The trigger state a poll's `Location` carries: the platform sends it back; makers never see it.
pub fn trigger_state() -> Parameter {
    optional_query(
        "TriggerState",
        string_matching(r"^[A-Za-z0-9_-]{1,4096}$"),
        "Where the trigger is in Partner Center's activity log; the gateway puts it in Location.",
        "Trigger state",
        Some("internal"),
    )
}

/// The customer a trigger watches; all of the partner's customers when absent.
pub fn customer_filter() -> Parameter {
    optional_query(
        "CustomerTenantID",
        string_matching(
            r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$",
        ),
        "Only this customer's activity; leave it empty for all customers.",
        "Customer tenant ID",
        None,
    )
}

/// The activity "When an activity is recorded" watches, picked from GetActivityTypes' list.
pub fn operation_type_filter() -> Parameter {
    let extensions = ExtensionsBuilder::new()
        .add("x-ms-summary", "Activity")
        .add("x-ms-visibility", "important")
        .add(
            "x-ms-dynamic-values",
            serde_json::json!({
                "operationId": "GetActivityTypes",
                "value-collection": "value",
                "value-path": "operationType",
                "value-title": "displayName"
            }),
        );
    ParameterBuilder::new()
        .name("OperationType")
        .parameter_in(ParameterIn::Query)
        // Required of the first poll; the polls after it carry it in their state.
        .required(Required::True)
        .description(Some(
            "The activity to watch for: Partner Center's operationType, such as add_customer_user.",
        ))
        .schema(Some(string_matching(r"^[a-z_]{1,64}$")))
        .extensions(Some(extensions.build()))
        .build()
}
