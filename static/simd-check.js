// Runs before any wasm loads: a browser without wasm SIMD cannot compile
// the page's SIMD-built modules, so say so in words instead of failing blank.
// The module below is (func (result v128) i32.const 0 i8x16.splat).
(function () {
  var simdModule = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123,
    3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
  var ok = typeof WebAssembly === "object" && WebAssembly.validate(simdModule);
  window.pretrainLabSimd = ok;
  if (!ok) {
    document.addEventListener("DOMContentLoaded", function () {
      var p = document.createElement("p");
      p.id = "no-simd";
      p.className = "error";
      p.textContent = "This browser cannot run Pretrain Lab: it lacks WebAssembly SIMD " +
        "(a recent Chrome, Edge, Firefox or Safari 16.4+ has it).";
      document.body.prepend(p);
    });
  }
})();
