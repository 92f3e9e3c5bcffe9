//! The wasm entry point: hydrate the islands, nothing else.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Without a use of the app crate the linker drops the islands and the browser reports
    // "Could not find WASM function for the island".
    #[allow(unused_imports)]
    use app::islands::*;
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
