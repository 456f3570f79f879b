// Inside an /embed/ page: tells the page around the frame how tall the content is, so that
// host.js there can size the frame to it. Heights carry nothing private, so any parent may
// read them; the parent checks that they come from this app.
"use strict";

(function reportHeight() {
  if (window.parent === window) return; // opened on its own, not in a frame
  const HEIGHT = "streaming-troubleshooter:height";
  const ASK = "streaming-troubleshooter:ask-height";
  const root = document.getElementById("embed-root") || document.body;
  let last = -1;

  function height() {
    return Math.ceil(root.getBoundingClientRect().height);
  }

  function send(force) {
    const now = height();
    if (now === last && !force) return;
    last = now;
    window.parent.postMessage({ type: HEIGHT, height: now }, "*");
  }

  // One observer covers every way the content changes size: a framework tab swapped in, a
  // tree step replacing the last, a <details> opened, the frame made narrower.
  new ResizeObserver(() => send(false)).observe(root);
  // A host script that loads after this frame asks once for the height it missed.
  window.addEventListener("message", (event) => {
    if (event.source !== window.parent || !event.data || event.data.type !== ASK) return;
    // A host that asks also sizes the frame: the frame's own scrollbar would only flicker.
    document.documentElement.classList.add("sized-by-host");
    send(true);
  });
  send(true);
})();
