//! The wasm entry point: hydrate the islands, nothing else.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Without a use of the app crate the linker drops the islands and the browser reports
    // "Could not find WASM function for the island".
    #[expect(unused_imports)]
    use app::islands::*;
    // No panic hook: it would carry the panic formatting into every user's download, and the
    // island's code has no panicking path (it casts and checks instead of unwrapping).
    leptos::mount::hydrate_islands();
}
