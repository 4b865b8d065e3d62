//! The wasm entry point: mounts the app on the page.

fn main() {
    web::start();
}
