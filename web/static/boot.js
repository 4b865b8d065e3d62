// Loads the app: the wasm module and its bindings (the page's security policy allows no
// inline script, so this is its own file).
import init from "/formwork.js";

init().catch((error) => {
  document.body.textContent = "Formwork could not start: " + error;
});
