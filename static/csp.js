// The page's Content-Security-Policy, set before any other script runs. It
// is written here rather than in index.html so that a class's hub mirror
// (saved in this browser, or named by a shared link) is allowed to be
// downloaded from. scripts/csp.sh writes in the hash of trunk's inline
// loader at build time; nothing else inline may run, and nothing evaluates
// strings as code ('wasm-unsafe-eval' compiles WebAssembly only).
(function () {
  var connect = ["'self'", "blob:", "https://huggingface.co", "https://*.huggingface.co", "https://*.hf.co"];
  function allow(address) {
    try {
      var url = new URL(address, location.href);
      if (url.protocol === "https:" || url.protocol === "http:") {
        connect.push(url.origin);
      }
    } catch (e) {
      // Not an address: nothing is allowed for it.
    }
  }
  var linked = new URLSearchParams(location.search).get("hub");
  if (linked) {
    allow(linked);
  }
  try {
    var saved = JSON.parse(localStorage.getItem("pretrain-lab/v1") || "{}");
    if (saved && typeof saved.hub === "string" && saved.hub.trim()) {
      allow(saved.hub.trim());
    }
  } catch (e) {
    // Unreadable saved state: the default hub only.
  }
  var policy = [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval' __INLINE_SCRIPT_HASHES__",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "connect-src " + connect.join(" "),
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'none'"
  ].join("; ");
  var meta = document.createElement("meta");
  meta.httpEquiv = "Content-Security-Policy";
  meta.content = policy;
  document.head.appendChild(meta);
})();
