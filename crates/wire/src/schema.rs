//! Schemas the derive cannot state: the Gameball error codes as an integer enumeration.

use crate::ErrorCode;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> RefOr<Schema> {
        let table: Vec<String> = ErrorCode::ALL
            .iter()
            .map(|c| format!("`{}` {} (HTTP {})", c.code(), c.kind(), c.http_status()))
            .collect();
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .enum_values(Some(ErrorCode::ALL.map(ErrorCode::code)))
            .description(Some(format!(
                "A Gameball error code: {}.",
                table.join("; ")
            )))
            .into()
    }
}

impl utoipa::ToSchema for ErrorCode {}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::PartialSchema;

    #[test]
    fn the_error_code_schema_lists_every_code_once() {
        let schema = serde_json::to_value(ErrorCode::schema()).unwrap();
        let codes: Vec<u64> = schema["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        let mut unique = codes.clone();
        unique.dedup();
        assert_eq!(codes.len(), ErrorCode::ALL.len());
        assert_eq!(unique, codes);
        assert!(codes.contains(&9008));
    }
}
