// Progressive enhancement for the console's pages: lead upload with progress, the live view, the test call.
"use strict";

const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

function clock(seconds) {
  const s = Math.max(0, Number(seconds) || 0);
  return `${Math.floor(s / 60)}:${(s % 60).toFixed(1).padStart(4, "0")}`;
}

async function problemDetail(response) {
  try {
    const body = await response.json();
    return body.detail || body.title || response.statusText;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

// -- lead upload ------------------------------------------------------------------------------------------
function setupUpload() {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const bar = document.getElementById("upload-bar");
  const percent = document.getElementById("upload-percent");
  const error = document.getElementById("upload-error");
  const report = document.getElementById("upload-report");
  let lastReport = null;

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = document.getElementById("lead-file").files[0];
    error.hidden = true;
    if (!file) {
      error.textContent = "Choose a CSV file first.";
      error.hidden = false;
      return;
    }
    const params = new URLSearchParams();
    if (document.getElementById("no_minors").checked) params.set("no_minors_attested", "true");
    for (const name of ["consent_source", "consent_purpose"]) {
      const value = document.getElementById(name).value.trim();
      if (value) params.set(name, value);
    }
    const type = file.name.endsWith(".ndjson") ? "application/x-ndjson" : "text/csv";
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/console/campaigns/${form.dataset.campaign}/leads/?${params}`);
    xhr.setRequestHeader("Content-Type", type);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    form.querySelector(".upload-progress").hidden = false;
    bar.style.width = "0%";
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable) return;
      // The last 5% is the server checking and storing the rows.
      const pct = Math.round((95 * e.loaded) / e.total);
      bar.style.width = `${pct}%`;
      percent.textContent = `${pct}% uploaded`;
    };
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { body = null; }
      if (xhr.status !== 200 || !body) {
        bar.style.width = "0%";
        percent.textContent = "failed";
        error.textContent = (body && (body.detail || body.title)) || `Upload failed (${xhr.status}).`;
        error.hidden = false;
        return;
      }
      bar.style.width = "100%";
      percent.textContent = "done";
      lastReport = body;
      showReport(body);
      // The new leads await their first dial: both counters grow by what was accepted.
      for (const key of ["leads", "remaining"]) {
        const stat = document.querySelector(`[data-stat="${key}"]`);
        if (stat) stat.textContent = String(Number(stat.textContent) + body.accepted);
      }
    };
    xhr.onerror = () => {
      error.textContent = "The upload was interrupted. Check the connection and try again.";
      error.hidden = false;
    };
    xhr.send(file);
  });

  function showReport(body) {
    report.hidden = false;
    document.getElementById("accepted-count").textContent = `${body.accepted} accepted`;
    document.getElementById("rejected-count").textContent = `${body.rejected_count ?? body.rejected.length} rejected`;
    document.getElementById("rows-count").textContent = `of ${body.rows} rows`;
    const tbody = document.querySelector("#rejections tbody");
    tbody.replaceChildren();
    for (const row of body.rejected.slice(0, 500)) {
      const tr = el("tr");
      tr.append(el("td", { class: "num" }, String(row.line)), el("td", {}, row.reason.replaceAll("_", " ")));
      tbody.append(tr);
    }
    document.getElementById("download-report").hidden = body.rejected.length === 0;
  }

  document.getElementById("download-report").addEventListener("click", () => {
    if (!lastReport) return;
    // The server's copy holds every rejected row (the answer lists only the first 1,000): line numbers, reasons
    // and details, no phone numbers or names.
    const href = lastReport.rejections_url.replace(/^\/v1\//, "/console/");
    const link = el("a", { href, download: `rejected-rows-${lastReport.upload_id.slice(0, 8)}.csv` });
    document.body.append(link);
    link.click();
    link.remove();
  });
}

// -- live calls ---------------------------------------------------------------------------------------------
function setupLive() {
  const table = document.getElementById("live-calls");
  if (!table) return;
  const tbody = table.querySelector("tbody");
  const empty = document.getElementById("live-empty");
  // A server that hears workers' progress notifications holds each poll until a change (at most a second):
  // ask again at once. Otherwise poll every second.
  let prompt = false;
  async function poll() {
    try {
      const url = prompt ? `${table.dataset.poll}?wait=true` : table.dataset.poll;
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      prompt = false;
      if (response.ok) {
        const body = await response.json();
        const calls = body.calls;
        prompt = body.prompt === true;
        tbody.replaceChildren();
        for (const c of calls) {
          const tr = el("tr", { "data-call": c.call_id });
          const code = el("code", {}, c.call_id.slice(0, 8));
          const first = el("td");
          first.append(code);
          const current = el("td");
          if (c.current_turn) {
            current.append(el("b", {}, c.current_turn.role === "bot" ? "Agent: " : "Lead: "), document.createTextNode(c.current_turn.text));
          } else current.append(el("span", { class: "muted" }, "connecting…"));
          tr.append(first, el("td", {}, c.campaign_name), el("td", {}, c.kind), el("td", {}, c.state), el("td", {}, c.worker_id || "this server"), el("td", {}, `${c.elapsed_s} s`), el("td", { class: "num" }, String(c.turns)), current);
          tbody.append(tr);
        }
        empty.hidden = calls.length > 0;
      }
    } catch (error) {
      prompt = false;
    } finally {
      setTimeout(poll, prompt ? 0 : 1000);
    }
  }
  poll();
}

// -- test call over WebRTC ---------------------------------------------------------------------------------
function setupTestCall() {
  const box = document.getElementById("test-call");
  if (!box) return;
  const startButton = document.getElementById("start-call");
  const hangupButton = document.getElementById("hangup-call");
  const status = document.getElementById("call-status");
  const dot = document.getElementById("call-dot");
  const timer = document.getElementById("call-timer");
  const errorBox = document.getElementById("call-error");
  const list = document.getElementById("live-transcript");
  let pc = null, stream = null, callId = null, pollTimer = null, startedAt = 0;

  const setStatus = (text, state) => { status.textContent = text; dot.className = `status-dot ${state || ""}`; };

  function renderTranscript(turns) {
    list.replaceChildren();
    for (const t of turns) {
      const li = el("li", { class: `turn ${t.role}${t.interrupted ? " interrupted" : ""}`, "data-role": t.role });
      const who = el("div", { class: "who" }, t.role === "bot" ? "Agent " : "You ");
      who.append(el("time", {}, clock(t.start_s)));
      li.append(who, el("div", { class: "bubble" }, t.text));
      list.append(li);
    }
    document.getElementById("transcript-empty").hidden = turns.length > 0;
    document.getElementById("turn-count").textContent = turns.length ? `${turns.length} turns` : "";
  }

  async function poll() {
    if (!callId) return;
    const response = await fetch(`/console/live/calls/${callId}`, { headers: { Accept: "application/json" } });
    if (response.ok) {
      const view = await response.json();
      renderTranscript(view.transcript);
      timer.textContent = `${Math.round((performance.now() - startedAt) / 1000)} s`;
      if (view.ended) return finished();
    }
    pollTimer = setTimeout(poll, 700);
  }

  function finished() {
    clearTimeout(pollTimer);
    if (pc) pc.close();
    if (stream) stream.getTracks().forEach((t) => t.stop());
    pc = null;
    setStatus("Call ended", "ended");
    hangupButton.disabled = true;
    startButton.disabled = false;
    startButton.textContent = "Call again";
    const link = document.getElementById("call-record-link");
    // The record is stored as the call ends; give it a moment before offering the link.
    setTimeout(() => {
      link.href = `/console/calls/${callId}`;
      document.getElementById("call-done").hidden = false;
    }, 1200);
  }

  function waitForIce(peer) {
    if (peer.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { if (peer.iceGatheringState === "complete") { peer.removeEventListener("icegatheringstatechange", done); resolve(); } };
      peer.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 3000); // host candidates come at once; do not wait on unreachable servers
    });
  }

  startButton.addEventListener("click", async () => {
    errorBox.hidden = true;
    document.getElementById("call-done").hidden = true;
    startButton.disabled = true;
    setStatus("Asking for the microphone…", "busy");
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true }, video: false });
      pc = new RTCPeerConnection({ iceServers: [] });
      box.peer = pc; // lets a support engineer (or a test) read the connection's stats from the console
      stream.getTracks().forEach((track) => pc.addTrack(track, stream));
      pc.addEventListener("track", (event) => { document.getElementById("remote-audio").srcObject = event.streams[0] || new MediaStream([event.track]); });
      pc.addEventListener("connectionstatechange", () => {
        if (pc && pc.connectionState === "connected") setStatus("Connected: speak after the greeting", "live");
        if (pc && pc.connectionState === "failed") { setStatus("Connection failed", "ended"); }
      });
      await pc.setLocalDescription(await pc.createOffer());
      await waitForIce(pc);
      setStatus("Connecting…", "busy");
      const response = await fetch("/console/test-call/offer", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ campaign_id: box.dataset.campaign, sdp: pc.localDescription.sdp, type: "offer" }),
      });
      if (!response.ok) throw new Error(await problemDetail(response));
      const answer = await response.json();
      callId = answer.call_id;
      box.dataset.callId = callId;
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      startedAt = performance.now();
      hangupButton.disabled = false;
      poll();
    } catch (err) {
      setStatus("Not connected", "ended");
      errorBox.textContent = `Could not start the call: ${err.message || err}`;
      errorBox.hidden = false;
      startButton.disabled = false;
      if (pc) pc.close();
      if (stream) stream.getTracks().forEach((t) => t.stop());
    }
  });

  hangupButton.addEventListener("click", async () => {
    hangupButton.disabled = true;
    if (!callId) return;
    setStatus("Hanging up…", "busy");
    await fetch(`/console/test-call/${callId}/hangup`, { method: "POST", headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" } });
  });
}

// -- a finished call: each transcript line plays the recording from where it was said ----------------------------
function setupRecording() {
  const audio = document.getElementById("call-audio");
  if (!audio) return;
  document.querySelectorAll("[data-seek]").forEach((button) => {
    button.addEventListener("click", () => {
      audio.currentTime = Math.max(0, Number(button.dataset.seek) || 0);
      audio.play().catch(() => {});
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setupUpload();
  setupRecording();
  setupLive();
  setupTestCall();
});
