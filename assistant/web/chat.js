// A WhatsApp-like chat with the local pipeline: POST /api/chat, then poll /api/chat/events for what the
// assistant did (read receipt, typing indicator, reply). Texts are put in the page as text nodes, never HTML.
"use strict";

(() => {
  const POLL_MS = 300;
  const MIN_TYPING_MS = 900; // a reply that comes at once still shows the assistant typing, as WhatsApp does
  const state = {
    sender: senderNumber(),
    cursor: 0,
    bubbles: new Map(), // message number -> the user's bubble
    polling: false,
    again: false,
    typingSince: 0,
  };

  const byId = (id) => document.getElementById(id);
  const messages = byId("messages");
  const typing = byId("typing");
  const input = byId("message-input");
  const voice = byId("voice-input");

  function senderNumber() {
    const saved = sessionStorage.getItem("assistant-sender");
    if (saved) return saved;
    const digits = Array.from(crypto.getRandomValues(new Uint8Array(7)), (b) => b % 10).join("");
    const number = `1555${digits}`;
    sessionStorage.setItem("assistant-sender", number);
    return number;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function element(tag, className, ...children) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    node.append(...children);
    return node;
  }

  function now() {
    return new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function scrollDown() {
    const conversation = byId("conversation");
    conversation.scrollTop = conversation.scrollHeight;
  }

  // -- WhatsApp formatting: *bold*, _italic_, ~strike~, ```code```, line breaks, a closing "Sources" list ----

  const INLINE = new RegExp(
    [
      "```([^`]+?)```",
      "(?<![\\w*])\\*(?!\\s)([^*\\n]+?)(?<!\\s)\\*(?![\\w*])",
      "(?<![\\w_])_(?!\\s)([^_\\n]+?)(?<!\\s)_(?![\\w_])",
      "(?<![\\w~])~(?!\\s)([^~\\n]+?)(?<!\\s)~(?![\\w~])",
    ].join("|"),
    "gu",
  );
  const TAGS = ["code", "strong", "em", "del"];

  function inline(parent, text) {
    let last = 0;
    for (const match of text.matchAll(INLINE)) {
      parent.append(text.slice(last, match.index));
      const group = [1, 2, 3, 4].find((i) => match[i] !== undefined);
      const node = document.createElement(TAGS[group - 1]);
      if (group === 1) node.textContent = match[group];
      else inline(node, match[group]);
      parent.append(node);
      last = match.index + match[0].length;
    }
    parent.append(text.slice(last));
  }

  function lines(parent, textLines) {
    textLines.forEach((line, index) => {
      if (index) parent.append(document.createElement("br"));
      inline(parent, line);
    });
  }

  // A reply ends with its sources: a line "_Sources:_" (in the reply's language) and then "- title" lines.
  function splitSources(text) {
    const all = text.replace(/\s+$/u, "").split("\n");
    let start = all.length;
    while (start > 0 && /^\s*[-•]\s+\S/u.test(all[start - 1])) start -= 1;
    const heading = start > 0 ? all[start - 1].trim().match(/^_([^_\n]+?)\s*:\s*_$/u) : null;
    if (start === all.length || !heading) return { body: all, sources: null };
    const body = all.slice(0, start - 1);
    while (body.length && !body[body.length - 1].trim()) body.pop();
    return {
      body,
      sources: { title: heading[1], items: all.slice(start).map((l) => l.replace(/^\s*[-•]\s+/u, "")) },
    };
  }

  function formatted(text) {
    const container = element("div", "text");
    const { body, sources } = splitSources(text);
    lines(container, body);
    if (sources) {
      const list = element("ul");
      for (const item of sources.items) {
        const entry = element("li");
        inline(entry, item);
        list.append(entry);
      }
      container.append(element("div", "sources", element("p", "sources-title", sources.title), list));
    }
    return container;
  }

  // -- bubbles ----------------------------------------------------------------------------------------------

  function outgoing(content) {
    const ticks = element("span", "ticks pending", "◷");
    ticks.setAttribute("aria-label", "Sending");
    const bubble = element(
      "li",
      "bubble outgoing",
      element("div", "text", content),
      element("span", "meta", element("time", "", now()), ticks),
    );
    messages.append(bubble);
    scrollDown();
    return bubble;
  }

  function setTicks(bubble, text, className, label) {
    const ticks = bubble.querySelector(".ticks");
    ticks.textContent = text;
    ticks.className = `ticks ${className}`;
    ticks.setAttribute("aria-label", label);
  }

  function incoming(text) {
    const meta = element("span", "meta", element("time", "", now()));
    const bubble = element("li", "bubble incoming", formatted(text), meta);
    messages.append(bubble);
    scrollDown();
  }

  function showTyping() {
    if (typing.hidden) state.typingSince = Date.now();
    typing.hidden = false;
    byId("chat-status").textContent = "typing…";
    scrollDown();
  }

  async function hideTyping() {
    if (typing.hidden) return;
    const shown = Date.now() - state.typingSince;
    if (shown < MIN_TYPING_MS) await sleep(MIN_TYPING_MS - shown);
    typing.hidden = true;
    byId("chat-status").textContent = "online";
  }

  function showError(text) {
    const box = byId("chat-error");
    box.textContent = text;
    box.hidden = !text;
  }

  // -- the assistant's side: events, in order ---------------------------------------------------------------

  async function handle(event) {
    const bubble = state.bubbles.get(event.message);
    if (event.kind === "read" && bubble) {
      setTicks(bubble, "✓✓", "read", "Read");
    } else if (event.kind === "typing") {
      showTyping();
    } else if (event.kind === "reply" && event.text) {
      await hideTyping();
      incoming(event.text);
    }
  }

  async function poll() {
    state.again = true; // a send while a poll is finishing makes it go round once more
    if (state.polling) return;
    state.polling = true;
    try {
      while (state.again) {
        state.again = false;
        for (;;) {
          const query = new URLSearchParams({ sender: state.sender, after: String(state.cursor) });
          const response = await fetch(`/api/chat/events?${query}`, { cache: "no-store" });
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          const data = await response.json();
          state.cursor = data.next;
          for (const event of data.events) await handle(event);
          if (!data.pending) break;
          await sleep(POLL_MS);
        }
      }
      await hideTyping(); // a turn that ended without a reply (it failed) stops typing too
    } catch (error) {
      showError("Lost contact with the server; send again to retry.");
      await hideTyping();
    } finally {
      state.polling = false;
    }
  }

  async function send(payload, bubble) {
    showError("");
    try {
      const response = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sender: state.sender, ...payload }),
      });
      const data = await response.json();
      if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
      state.bubbles.set(data.message, bubble);
      setTicks(bubble, "✓", "sent", "Sent");
      state.cursor = Math.min(state.cursor, data.cursor);
      poll();
    } catch (error) {
      setTicks(bubble, "!", "failed", "Not sent");
      showError(`Not sent: ${error.message}`);
    }
  }

  function sendText(event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    const content = document.createDocumentFragment();
    lines(content, text.split("\n"));
    send({ text }, outgoing(content));
  }

  function sendVoiceNote() {
    const file = voice.files && voice.files[0];
    voice.value = "";
    if (!file) return;
    const reader = new FileReader();
    const bubble = outgoing(`🎤 Voice note · ${file.name}`);
    reader.onload = () => {
      const audio = String(reader.result).split(",", 2)[1] || "";
      send({ audio, filename: file.name }, bubble);
    };
    reader.onerror = () => {
      setTicks(bubble, "!", "failed", "Not sent");
      showError("Could not read that file.");
    };
    reader.readAsDataURL(file);
  }

  async function start() {
    byId("chatting-as").textContent = `You: +${state.sender}`;
    // A page opened again in this tab starts a fresh view of the same conversation: skip what was shown.
    try {
      const query = new URLSearchParams({ sender: state.sender, after: "0" });
      const response = await fetch(`/api/chat/events?${query}`, { cache: "no-store" });
      if (response.ok) state.cursor = (await response.json()).next;
    } catch (error) {
      showError("The server is not answering.");
    }
    byId("composer").addEventListener("submit", sendText);
    voice.addEventListener("change", sendVoiceNote);
    input.focus();
    document.body.dataset.ready = "true";
  }

  start();
})();
