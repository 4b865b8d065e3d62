//! End-to-end tests live in `tests/browser`: they start the real `formwork` binary with the
//! built browser app and drive Debian's Chromium through chromedriver.
