//! `docs/provider-contract.yaml` is what an outsider implements from: it must parse, and every
//! number and code in it must be what Tether does.

use server::{provider::http, signing};

const CONTRACT: &str = include_str!("../../../docs/provider-contract.yaml");
const README: &str = include_str!("../../../README.md");

#[test]
fn the_contract_parses_as_yaml_with_its_six_endpoints() {
    let docs = yaml_rust2::YamlLoader::load_from_str(CONTRACT).expect("the contract is valid YAML");
    assert_eq!(docs.len(), 1);
    let paths = docs[0]["paths"].as_hash().expect("paths");
    let names: Vec<&str> = paths.keys().filter_map(|k| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "/resources/list",
            "/resources/create",
            "/resources/env",
            "/resources/rotate",
            "/resources/release",
            "/notices"
        ]
    );
    let notice_types = &docs[0]["paths"]["/notices"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        ["properties"]["type"]["enum"];
    let types: Vec<&str> = notice_types.as_vec().expect("notice types").iter().filter_map(|t| t.as_str()).collect();
    // Every notice Tether sends (webhook effects and Disconnect) is listed.
    for kind in ["installation.removed", "installation.transferred", "project.removed", "project.disconnected"] {
        assert!(types.contains(&kind), "{kind} is not documented");
    }
}

#[test]
fn the_contract_and_readme_state_the_budgets_tether_keeps() {
    let attempt = http::ATTEMPT_TIMEOUT.as_secs();
    let call = http::CALL_BUDGET.as_secs();
    let attempts = http::ATTEMPTS;
    for (text, sentence) in [
        (CONTRACT, format!("One attempt gets **{attempt} seconds**")),
        (CONTRACT, format!("One call, its retries included, gets\n    **{call} seconds**")),
        (CONTRACT, format!("at most {attempts} attempts")),
        (CONTRACT, format!("within {} minutes of your clock", signing::TOLERANCE_SECS / 60)),
        (
            CONTRACT,
            format!("then parked for Tether's operator after {} attempts", server::store::provider_jobs::MAX_ATTEMPTS),
        ),
        (README, format!("Each attempt gets\n  {attempt} s and each call {call} s")),
        (README, format!("at\n  most {attempts} attempts")),
    ] {
        assert!(text.contains(&sentence), "the document does not say {sentence:?}");
    }
    for stale in ["attempt at 4 s", "within 3 s", "20 checks"] {
        assert!(!README.contains(stale), "README still says {stale:?}");
    }
}

#[test]
fn every_error_code_tether_and_the_checker_rely_on_is_in_the_contract() {
    for code in [
        "wrong_action",
        "bad_request",
        "idempotency_key_missing",
        "idempotency_key_invalid",
        "idempotency_key_reused",
        "bad_signature",
        "unknown_resource",
        // The vendor's calls to Tether (`native::vendor_calls`).
        "unknown_action",
        "unknown_installation",
        "not_enabled",
        "already_imported",
        "name_taken",
        "product_withdrawn",
        "unavailable",
    ] {
        assert!(CONTRACT.contains(&format!("`{code}`")), "{code} is not documented");
    }
}
