// Measures a streamed response from the browser it runs in: every chunk's arrival time
// and bytes, as the troubleshooter's import page reads them. The same code runs on the
// measure page and, pasted into the DevTools console, on your own app's page (where the
// request is same-origin, so no CORS change is needed).
async function measureStream({ url, method = "GET", headers = {}, body = undefined, seconds = 120 }) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort("time limit"), seconds * 1000);
  const started = performance.now();
  const since = () => Math.round(performance.now() - started) / 1000;
  const record = {
    // Header values that look secret stay in this browser: the page needs only their names.
    browser_measurement: 1, url, method,
    request_headers: Object.keys(headers).map((name) => [
      name, /auth|key|token|secret|cookie|pass/i.test(name) ? "[secret]" : headers[name]]),
    status: null, headers: {}, time_to_headers: null, arrivals: [], ending: { kind: "clean-close", reason: "" },
  };
  const toBase64 = (bytes) => {
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
  };
  try {
    const response = await fetch(url, { method, headers, body, signal: abort.signal, cache: "no-store" });
    record.time_to_headers = since();
    record.status = response.status;
    response.headers.forEach((value, name) => { record.headers[name] = value; });
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      record.arrivals.push([since(), toBase64(value)]);
    }
  } catch (error) {
    const timedOut = abort.signal.aborted;
    record.ending = {
      kind: timedOut ? "limit" : record.status === null ? "connect-error" : "reset",
      reason: timedOut ? `stopped after ${seconds} s` : String(error),
    };
  } finally {
    clearTimeout(timer);
  }
  record.ending.t = since();
  return record;
}
