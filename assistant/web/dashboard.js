// The organizers' dashboard: fetches /api/report every 5 s and draws it (charts are inline SVG, made here).
// On AWS (the page has a <meta name="auth">), organizers sign in first: Cognito's hosted UI, the
// authorization-code flow with PKCE; the id token is kept in sessionStorage and sent as a bearer token.
// Locally (`assistant serve`, no such tag) nothing signs in.
"use strict";

(() => {
  const REFRESH_MS = 5000;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const PALETTE = [
    "#00a884", "#53bdeb", "#ffb02e", "#ef5da8", "#7f66ff",
    "#25d366", "#ff7a59", "#1f7aec", "#c45fd6", "#8696a0",
  ];
  const FEEDBACK_COLORS = { positive: "#25d366", negative: "#ef4444", other: "#8696a0" };
  const colors = new Map();
  const number = new Intl.NumberFormat();

  const byId = (id) => document.getElementById(id);

  function colorOf(name) {
    if (!colors.has(name)) colors.set(name, PALETTE[colors.size % PALETTE.length]);
    return colors.get(name);
  }

  function html(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    node.append(...children);
    return node;
  }

  function svg(tag, attributes = {}, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    node.append(...children);
    return node;
  }

  function count(value) {
    return typeof value === "number" ? number.format(value) : "–";
  }

  function seconds(value) {
    if (typeof value !== "number") return "–";
    return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} s`;
  }

  function clock(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return String(iso);
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function sortedEntries(mapping) {
    return Object.entries(mapping || {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  }

  // -- categories over time: stacked bars, one per time bucket ------------------------------------------------

  function renderTimeline(report) {
    const host = byId("categories-chart");
    const timeline = report.timeline || {};
    const buckets = timeline.buckets || [];
    const names = (report.categories || []).map((c) => c.name);
    for (const bucket of buckets) {
      for (const name of Object.keys(bucket.categories || {})) if (!names.includes(name)) names.push(name);
    }
    const minutes = Math.round((timeline.bucket_seconds || 0) / 60);
    byId("bucket-size").textContent = minutes ? `per ${minutes} min` : "";
    renderLegend(names);
    if (!buckets.length) {
      host.replaceChildren(html("p", { class: "empty" }, "No questions yet."));
      return;
    }

    const width = 720;
    const height = 260;
    const margin = { top: 12, right: 12, bottom: 30, left: 40 };
    const plotWidth = width - margin.left - margin.right;
    const plotHeight = height - margin.top - margin.bottom;
    const totals = buckets.map((b) => Object.values(b.categories || {}).reduce((sum, n) => sum + n, 0));
    const step = Math.max(1, Math.ceil(Math.max(...totals, 1) / 4));
    const top = step * 4;
    const y = (value) => margin.top + plotHeight - (value / top) * plotHeight;

    const chart = svg("svg", {
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-labelledby": "categories-chart-title categories-chart-desc",
      preserveAspectRatio: "xMidYMid meet",
    });
    const busiest = totals.indexOf(Math.max(...totals));
    chart.append(
      svg("title", { id: "categories-chart-title" }, "Questions per category over time"),
      svg(
        "desc",
        { id: "categories-chart-desc" },
        `${buckets.length} time buckets; busiest at ${clock(buckets[busiest].start)} with ${totals[busiest]} questions.`,
      ),
    );

    const grid = svg("g", { class: "axis" });
    for (let i = 0; i <= 4; i += 1) {
      const value = step * i;
      grid.append(
        svg("line", { x1: margin.left, x2: width - margin.right, y1: y(value), y2: y(value), class: "gridline" }),
        svg("text", { x: margin.left - 6, y: y(value) + 4, "text-anchor": "end" }, String(value)),
      );
    }
    chart.append(grid);

    const slot = plotWidth / buckets.length;
    const barWidth = Math.max(2, Math.min(48, slot * 0.7));
    const labelEvery = Math.ceil(buckets.length / 8);
    const bars = svg("g", { class: "bars" });
    buckets.forEach((bucket, index) => {
      const x = margin.left + index * slot + (slot - barWidth) / 2;
      let base = 0;
      for (const name of names) {
        const value = (bucket.categories || {})[name] || 0;
        if (!value) continue;
        const rect = svg("rect", {
          class: "bar",
          x: x.toFixed(1),
          y: y(base + value).toFixed(1),
          width: barWidth.toFixed(1),
          height: Math.max(0, y(base) - y(base + value)).toFixed(1),
          fill: colorOf(name),
          "data-category": name,
        });
        rect.append(svg("title", {}, `${clock(bucket.start)} · ${name}: ${value}`));
        bars.append(rect);
        base += value;
      }
      if (index % labelEvery === 0) {
        grid.append(
          svg("text", { x: x + barWidth / 2, y: height - 10, "text-anchor": "middle" }, clock(bucket.start)),
        );
      }
    });
    chart.append(bars);
    host.replaceChildren(chart);
  }

  function renderLegend(names) {
    byId("categories-legend").replaceChildren(
      ...names.map((name) => {
        const swatch = html("span", { class: "swatch", "aria-hidden": "true" });
        swatch.style.background = colorOf(name);
        return html("li", {}, swatch, name);
      }),
    );
  }

  // -- horizontal bar lists ------------------------------------------------------------------------------------

  function renderBars(list, entries, empty) {
    if (!entries.length) {
      list.replaceChildren(html("li", { class: "empty" }, empty));
      return;
    }
    const most = Math.max(...entries.map((entry) => entry.count), 1);
    list.replaceChildren(
      ...entries.map(({ label, count: value, color }) => {
        const fill = html("span", { class: "fill" });
        fill.style.width = `${(100 * value) / most}%`;
        if (color) fill.style.background = color;
        return html(
          "li",
          {},
          html("span", { class: "label" }, label),
          html("span", { class: "count" }, count(value)),
          html("span", { class: "track", "aria-hidden": "true" }, fill),
        );
      }),
    );
  }

  function renderUnanswered(groups) {
    const host = byId("unanswered");
    if (!groups.length) {
      host.replaceChildren(html("p", { class: "empty" }, "Every question got an answer."));
      return;
    }
    host.replaceChildren(
      ...groups.map((group) => {
        const questions = group.questions || [];
        const details = html(
          "details",
          {},
          html("summary", {}, `${group.category} `, html("span", { class: "pill" }, count(questions.length))),
          html("ul", { class: "questions" }, ...questions.map((question) => html("li", {}, question))),
        );
        details.open = groups.length <= 3;
        return details;
      }),
    );
  }

  // -- sign-in (AWS only) ----------------------------------------------------------------------------------------

  const TOKEN_KEY = "dashboard.idToken";
  const VERIFIER_KEY = "dashboard.pkceVerifier";
  const STATE_KEY = "dashboard.oauthState";
  const ATTEMPT_KEY = "dashboard.signInAt";
  const RETRY_SIGN_IN_MS = 60000; // a failing sign-in must not bounce between here and the hosted UI
  let auth = null; // { domain, clientId } on AWS

  function base64url(bytes) {
    let text = "";
    for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function randomString() {
    return base64url(crypto.getRandomValues(new Uint8Array(32)));
  }

  function redirectUri() {
    return `${location.origin}/dashboard`;
  }

  function tokenExpired(token) {
    try {
      const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      return typeof payload.exp !== "number" || payload.exp * 1000 < Date.now() + 30000;
    } catch {
      return true;
    }
  }

  async function signIn() {
    sessionStorage.removeItem(TOKEN_KEY);
    const last = Number(sessionStorage.getItem(ATTEMPT_KEY) || 0);
    if (Date.now() - last < RETRY_SIGN_IN_MS) throw new Error("sign-in failed");
    sessionStorage.setItem(ATTEMPT_KEY, String(Date.now()));
    const verifier = randomString();
    const state = randomString();
    sessionStorage.setItem(VERIFIER_KEY, verifier);
    sessionStorage.setItem(STATE_KEY, state);
    const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
    const query = new URLSearchParams({
      response_type: "code",
      client_id: auth.clientId,
      redirect_uri: redirectUri(),
      scope: "openid email",
      state,
      code_challenge: challenge,
      code_challenge_method: "S256",
    });
    location.assign(`${auth.domain}/oauth2/authorize?${query}`);
    return new Promise(() => {}); // the page is leaving
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    const query = new URLSearchParams({ client_id: auth.clientId, logout_uri: redirectUri() });
    location.assign(`${auth.domain}/logout?${query}`);
  }

  // Back from the hosted UI with ?code=&state=: trade the code (and the PKCE verifier) for tokens.
  async function completeSignIn() {
    const query = new URLSearchParams(location.search);
    const code = query.get("code");
    if (!code) return;
    history.replaceState(null, "", location.pathname); // the code is single-use: off the address bar
    const verifier = sessionStorage.getItem(VERIFIER_KEY);
    const expected = sessionStorage.getItem(STATE_KEY);
    sessionStorage.removeItem(VERIFIER_KEY);
    sessionStorage.removeItem(STATE_KEY);
    if (!verifier || !expected || query.get("state") !== expected) return;
    const response = await fetch(`${auth.domain}/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: auth.clientId,
        code,
        redirect_uri: redirectUri(),
        code_verifier: verifier,
      }),
    });
    if (!response.ok) return;
    const tokens = await response.json();
    if (typeof tokens.id_token === "string") sessionStorage.setItem(TOKEN_KEY, tokens.id_token);
  }

  async function setUpAuth() {
    const meta = document.querySelector('meta[name="auth"]');
    if (!meta || !meta.dataset.domain || !meta.dataset.clientId) return; // `assistant serve`: no sign-in
    auth = { domain: meta.dataset.domain, clientId: meta.dataset.clientId };
    // The chat is the local twin's; the deployed API serves the dashboard only.
    for (const link of document.querySelectorAll('a[href="/chat"]')) link.remove();
    await completeSignIn();
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token || tokenExpired(token)) await signIn();
    const button = byId("sign-out");
    if (button) {
      button.hidden = false;
      button.addEventListener("click", signOut);
    }
    // A download link cannot send a bearer token: fetch the CSV and save it from here.
    byId("download-csv").addEventListener("click", async (event) => {
      event.preventDefault();
      const csv = await api("/api/report.csv");
      const name = /filename="([^"]+)"/.exec(csv.headers.get("Content-Disposition") || "");
      const href = URL.createObjectURL(await csv.blob());
      const link = html("a", { href, download: name ? name[1] : "report.csv" });
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    });
  }

  // A GET of one of the /api routes, signed in on AWS; a 401 (an expired or revoked token) signs in again.
  async function api(path) {
    const headers = {};
    if (auth) headers.Authorization = `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ""}`;
    const response = await fetch(path, { cache: "no-store", headers });
    if (response.status === 401 && auth) await signIn();
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return response;
  }

  // -- the whole report ------------------------------------------------------------------------------------------

  function render(report) {
    byId("questions-count").textContent = count(report.questions);
    byId("unique-users").textContent = count(report.unique_users);
    byId("latency-p50").textContent = seconds((report.latency || {}).p50);
    byId("latency-p95").textContent = seconds((report.latency || {}).p95);
    byId("guardrail-interventions").textContent = count(report.guardrail_interventions);
    renderTimeline(report);
    const categories = [...(report.categories || [])].sort((a, b) => b.count - a.count).slice(0, 8);
    renderBars(
      byId("top-categories"),
      categories.map((c) => ({ label: c.name, count: c.count, color: colorOf(c.name) })),
      "No questions yet.",
    );
    renderBars(
      byId("volumes"),
      sortedEntries(report.volumes).map(([label, value]) => ({ label, count: value })),
      "No messages yet.",
    );
    renderBars(
      byId("sources"),
      sortedEntries(report.sources).map(([label, value]) => ({ label, count: value })),
      "No answers yet.",
    );
    renderBars(
      byId("feedback"),
      ["positive", "negative", "other"].map((kind) => ({
        label: kind[0].toUpperCase() + kind.slice(1),
        count: (report.feedback || {})[kind] || 0,
        color: FEEDBACK_COLORS[kind],
      })),
      "No feedback yet.",
    );
    renderUnanswered(report.unanswered || []);
    const generated = byId("generated-at");
    generated.textContent = report.generated_at ? new Date(report.generated_at).toLocaleString() : "–";
    if (report.generated_at) generated.setAttribute("datetime", report.generated_at);
  }

  async function refresh() {
    const status = byId("status");
    try {
      const response = await api("/api/report");
      render(await response.json());
      status.textContent = `Updated ${new Date().toLocaleTimeString()}`;
      status.classList.remove("error");
    } catch (error) {
      status.textContent = "Could not load the report; retrying…";
      status.classList.add("error");
    } finally {
      setTimeout(refresh, REFRESH_MS);
    }
  }

  setUpAuth()
    .catch(() => {
      byId("status").textContent = "Could not sign in; reload the page to try again.";
    })
    .finally(refresh);
})();
