//! Native integrations: the products a vendor offers on Vercel's Marketplace and their billing
//! plans, from `[[native.products]]` in the settings file, checked at start against the shapes
//! Vercel documents (native-protocol.md 1.6). Without any, the integration offers one product
//! (its slug and the vendor's name) with one free plan.

use serde::{Deserialize, Serialize};

/// One product, as Vercel's create form shows it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// The product's URL slug in Vercel's console: `GET /v1/products/{slug}/plans`.
    pub slug: String,
    pub name: String,
    /// Vercel's JSON Schema for the resource's metadata, with `ui:` controls; checked at start.
    #[serde(default)]
    pub metadata_schema: Option<serde_json::Value>,
    /// One free plan when none is given.
    #[serde(default)]
    pub plans: Vec<Plan>,
}

/// A billing plan: snake_case in the settings file, Vercel's camelCase on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all(deserialize = "snake_case", serialize = "camelCase"))]
pub struct Plan {
    pub id: String,
    pub name: String,
    #[serde(rename = "type", default)]
    pub kind: PlanKind,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub scope: PlanScope,
    /// Tether does not bill: a plan that needs a payment method is the vendor's to charge.
    #[serde(default)]
    pub payment_method_required: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<PlanDetail>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanKind {
    #[default]
    Subscription,
    Prepayment,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanScope {
    #[default]
    Resource,
    Installation,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlanDetail {
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// The plan a product gets when it names none: free, no payment method.
pub fn free_plan() -> Plan {
    Plan {
        id: "free".into(),
        name: "Free".into(),
        kind: PlanKind::Subscription,
        description: "No charge through Vercel.".into(),
        scope: PlanScope::Resource,
        payment_method_required: false,
        details: Vec::new(),
    }
}

/// The `ui:control` values Vercel documents for a metadata property.
const UI_CONTROLS: [&str; 9] = [
    "input",
    "toggle",
    "slider",
    "select",
    "multi-select",
    "vercel-region",
    "multi-vercel-region",
    "domain",
    "git-namespace",
];

/// The products as configured, or the one default; each given its free plan when it names none.
/// Every problem is reported, not only the first.
pub fn checked(products: Vec<Product>, default_slug: &str, vendor: &str, problems: &mut Vec<String>) -> Vec<Product> {
    let mut products = if products.is_empty() {
        vec![Product {
            slug: default_slug.to_owned(),
            name: vendor.to_owned(),
            metadata_schema: None,
            plans: Vec::new(),
        }]
    } else {
        products
    };
    let mut slugs = Vec::new();
    for product in &mut products {
        let at = format!("[[native.products]] `{}`", product.slug);
        let slug_ok = (1..=64).contains(&product.slug.len())
            && product.slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !slug_ok {
            problems.push(format!("{at}: a slug is 1 to 64 of a-z, 0-9 and -"));
        }
        if slugs.contains(&product.slug) {
            problems.push(format!("{at}: the slug appears twice"));
        }
        slugs.push(product.slug.clone());
        if product.name.trim().is_empty() {
            problems.push(format!("{at}: the name is empty"));
        }
        if product.plans.is_empty() {
            product.plans.push(free_plan());
        }
        let mut ids = Vec::new();
        for plan in &product.plans {
            if plan.id.is_empty() || ids.contains(&plan.id) {
                problems.push(format!("{at}: plan ids must be present and unique, `{}` is not", plan.id));
            }
            ids.push(plan.id.clone());
        }
        if let Some(schema) = &product.metadata_schema {
            check_schema(schema, &at, problems);
        }
    }
    products
}

/// Vercel's metadata schema: an object schema whose every property has a `type` and one of the
/// documented `ui:control`s.
fn check_schema(schema: &serde_json::Value, at: &str, problems: &mut Vec<String>) {
    if schema["type"] != "object" || !schema["properties"].is_object() {
        problems.push(format!("{at}: metadata_schema must have type = \"object\" and properties"));
        return;
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        let control = property["ui:control"].as_str().unwrap_or_default();
        if !property["type"].is_string() || !UI_CONTROLS.contains(&control) {
            problems.push(format!(
                "{at}: metadata property `{name}` needs a type and a ui:control of {}",
                UI_CONTROLS.join(", ")
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn products(toml: &str) -> Vec<Product> {
        #[derive(Deserialize)]
        struct File {
            products: Vec<Product>,
        }
        toml::from_str::<File>(toml).unwrap().products
    }

    #[test]
    fn without_products_the_integration_offers_one_with_a_free_plan() {
        let mut problems = Vec::new();
        let offered = checked(Vec::new(), "tether", "Acme DB", &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!((offered.len(), offered[0].slug.as_str(), offered[0].name.as_str()), (1, "tether", "Acme DB"));
        assert_eq!(offered[0].plans, [free_plan()]);
        let wire = serde_json::to_value(&offered[0].plans[0]).unwrap();
        assert_eq!(wire["paymentMethodRequired"], false, "camelCase on the wire: {wire}");
        assert_eq!(wire["type"], "subscription");
    }

    #[test]
    fn every_product_mistake_is_reported() {
        let bad = products(
            r#"
            [[products]]
            slug = "Acme DB"
            name = ""
            plans = [{ id = "pro", name = "Pro" }, { id = "pro", name = "Pro again" }]
            metadata_schema = { type = "object", properties = { region = { type = "string", "ui:control" = "dropdown" } } }
            [[products]]
            slug = "Acme DB"
            name = "Twice"
            "#,
        );
        let mut problems = Vec::new();
        checked(bad, "tether", "Acme", &mut problems);
        for expected in ["a slug is 1 to 64", "the slug appears twice", "the name is empty", "unique", "ui:control"] {
            assert!(problems.iter().any(|p| p.contains(expected)), "{expected}: {problems:?}");
        }
    }
}
