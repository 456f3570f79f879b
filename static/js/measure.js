// The measure page: runs measureStream (measure-core.js) on the address typed, then sends
// the record to the import page, which answers with the new run's address.
"use strict";

document.addEventListener("submit", async (event) => {
  const form = event.target.closest("form[data-measure]");
  if (!form) return;
  event.preventDefault();
  const status = form.querySelector("[data-measure-status]");
  const data = new FormData(form);
  const headers = {};
  for (const line of String(data.get("headers") || "").split("\n")) {
    const at = line.indexOf(":");
    if (at > 0) headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  const body = String(data.get("body") || "");
  status.textContent = "Measuring… every chunk is timed as your browser receives it.";
  const record = await measureStream({
    url: String(data.get("url")), method: String(data.get("method") || "GET"), headers,
    body: body || undefined, seconds: Number(data.get("seconds") || 60),
  });
  status.textContent = `Received ${record.arrivals.length} chunks; reading them…`;
  const upload = new FormData();
  upload.append("csrfmiddlewaretoken", data.get("csrfmiddlewaretoken"));
  upload.append("trace", JSON.stringify(record));
  upload.append("framework", String(data.get("framework") || ""));
  const answer = await fetch(form.action, { method: "POST", body: upload });
  if (answer.redirected) {
    window.location.assign(answer.url);
  } else {
    status.textContent = "The measurement could not be read: " +
      (new DOMParser().parseFromString(await answer.text(), "text/html").querySelector(".form-errors")?.textContent ||
       `HTTP ${answer.status}`);
  }
});
