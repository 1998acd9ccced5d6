// Runs before any wasm loads: a browser without wasm SIMD cannot compile
// the page's SIMD-built modules, so say so in words instead of failing blank.
// The module below is (func (result v128) i32.const 0 i8x16.splat).
(function () {
  var simdModule = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123,
    3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
  var ok = typeof WebAssembly === "object" && WebAssembly.validate(simdModule);
  window.pretrainLabSimd = ok;
  // Relaxed SIMD (i32x4.relaxed_dot_i8x16_i7x16_add_s of three splats): the
  // worker build with its int8 dot products, unless ?wasm=simd128 asks for
  // the SIMD128 build (the benchmark compares the two).
  var relaxedModule = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123,
    3, 2, 1, 0, 10, 19, 1, 17, 0, 65, 0, 253, 15, 65, 0, 253, 15, 65, 0, 253, 15,
    253, 147, 2, 11]);
  var relaxed = ok && WebAssembly.validate(relaxedModule);
  var forced = /[?&]wasm=simd128(&|$)/.test(window.location.search);
  window.pretrainLabWorkerBuild = relaxed && !forced ? "worker_relaxed" : "worker";
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
