/*
 * page.js - lab web's page: the lab's topology (the SVG `lab draw` makes),
 * its sessions drawn on it as they open and close, each router's
 * translations, a session's packets as a ladder, the tour's steps.
 *
 * The feed (/events) carries ls's and nat's JSON records with "type",
 * "op", "node" and "key" (see src/lab/live.c). The page keeps the last
 * record of each key and makes the sessions from them: a session is a
 * client's socket (server_side "remote"), joined to the router's
 * conntrack entry that carries it and to the server's socket, and drawn
 * along the route a packet takes (each node's gateway, as the lab is
 * built). At most lab.page_sessions are drawn and listed; the rest are
 * counted.
 */
"use strict";

const SVGNS = "http://www.w3.org/2000/svg";
let lab = null;            /* /lab.json */
let byAddr = new Map();    /* "198.18.10.10" -> {node, seg} */
let nodeByName = new Map();
let socks = new Map();     /* key -> ls record */
let nats = new Map();      /* key -> nat record */
let selected = null;       /* the session whose ladder is shown */
let renderQueued = false;
let tourRunning = 0;
let lastStats = null;

const $ = (id) => document.getElementById(id);

function el(tag, attrs, text) {
  const e = document.createElementNS(SVGNS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}

function h(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function ip4(s) {
  const p = s.split(".").map(Number);
  return ((p[0] << 24) >>> 0) + (p[1] << 16) + (p[2] << 8) + p[3];
}

function inCidr(addr, cidr) {
  const [net, len] = cidr.split("/");
  const mask = len == 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return ((ip4(addr) & mask) >>> 0) === ((ip4(net) & mask) >>> 0);
}

function segByName(name) {
  return lab.segments.find((s) => s.name === name);
}

/* ---- the route a packet takes: node by node, through the segments ---- */

function hopsTo(fromNode, dst) {
  const hops = [{ node: fromNode }];
  let cur = nodeByName.get(fromNode);
  for (let i = 0; i < 8 && cur; i++) {
    if (cur.ifs.some((f) => f.addr === dst)) return hops;
    const direct = cur.ifs.find((f) => inCidr(dst, segByName(f.seg).cidr));
    let via = null, seg = null;
    if (direct) {
      const o = byAddr.get(dst);
      if (!o) return null;
      via = o.node; seg = direct.seg;
    } else if (cur.gw) {
      const g = byAddr.get(cur.gw);
      if (!g) return null;
      via = g.node; seg = g.seg;
    } else {
      return null;
    }
    hops.push({ seg: seg, node: via });
    if (via === (byAddr.get(dst) || {}).node) return hops;
    cur = nodeByName.get(via);
  }
  return null;
}

function attPoint(node, seg) {
  const n = nodeByName.get(node);
  const f = n && n.ifs.find((x) => x.seg === seg);
  return f ? f.att : n.at;
}

function pathPoints(hops, off) {
  const pts = [];
  for (let i = 0; i < hops.length; i++) {
    const hp = hops[i];
    if (hp.seg) {
      const prev = hops[i - 1].node;
      const a = attPoint(prev, hp.seg), b = attPoint(hp.node, hp.seg);
      pts.push([a.x + off, a.y + off], [b.x + off, b.y + off]);
    }
    const n = nodeByName.get(hp.node);
    pts.push([n.at.x + off, n.at.y + off]);
  }
  return pts;
}

/* ---- sessions from the records ---- */

const CLOSED = new Set(["TIME-WAIT", "CLOSE"]);
const CLOSING = new Set(["FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "LAST-ACK", "CLOSING"]);

function tupleKey(proto, sa, sp, da, dp) {
  return proto + " " + sa + ":" + sp + " " + da + ":" + dp;
}

function buildSessions() {
  const natByOrig = new Map(), natByReply = new Map();
  for (const n of nats.values()) {
    if (n.orig_src_port === null) continue;
    natByOrig.set(tupleKey(n.proto, n.orig_src_addr, n.orig_src_port, n.orig_dst_addr, n.orig_dst_port), n);
    natByReply.set(tupleKey(n.proto, n.reply_src_addr, n.reply_src_port, n.reply_dst_addr, n.reply_dst_port), n);
  }
  const sockByTuple = new Map();
  for (const s of socks.values())
    if (s.remote_addr)
      sockByTuple.set(tupleKey(s.proto, s.local_addr, s.local_port, s.remote_addr, s.remote_port), s);
  const out = [];
  const usedServer = new Set();
  for (const s of socks.values()) {
    if (!s.remote_addr || s.server_side !== "remote" || s.local_addr.startsWith("127.")) continue;
    const nat = natByOrig.get(tupleKey(s.proto, s.local_addr, s.local_port, s.remote_addr, s.remote_port));
    const srvAddr = nat ? nat.reply_src_addr : s.remote_addr;
    const srvPort = nat ? nat.reply_src_port : s.remote_port;
    const seenAddr = nat ? nat.reply_dst_addr : s.local_addr;
    const seenPort = nat ? nat.reply_dst_port : s.local_port;
    const srv = sockByTuple.get(tupleKey(s.proto, srvAddr, srvPort, seenAddr, seenPort));
    if (srv) usedServer.add(srv.key);
    out.push({ key: s.key, client: s, nat: nat, server: srv, srvAddr: srvAddr, srvPort: srvPort });
  }
  /* a server's session whose client is not in the lab's tables */
  for (const s of socks.values()) {
    if (!s.remote_addr || s.server_side !== "local" || usedServer.has(s.key) ||
        s.local_addr.startsWith("127.") || s.state === "LISTEN") continue;
    const nat = natByReply.get(tupleKey(s.proto, s.local_addr, s.local_port, s.remote_addr, s.remote_port));
    out.push({ key: s.key, client: null, nat: nat, server: s, srvAddr: s.local_addr, srvPort: s.local_port });
  }
  for (const x of out) {
    const st = (x.client || x.server).state;
    const gone = (x.client && x.client.op === "close") || (!x.client && x.server.op === "close");
    x.state = gone ? "gone" : st;
    x.cls = gone || CLOSED.has(st) ? "closed" : CLOSING.has(st) ? "closing" : "open";
  }
  /* open ones first, then by key: the newest sockets have the larger cookies */
  const rank = { open: 0, closing: 1, closed: 2 };
  out.sort((a, b) => rank[a.cls] - rank[b.cls] || cookie(b.key) - cookie(a.key));
  return out;
}

function cookie(key) {
  return Number(key.split("/").pop());
}

function ep(addr, port) {
  return addr + ":" + port;
}

function nodeOf(addr) {
  const o = byAddr.get(addr);
  return o ? o.node : addr;
}

/* the client's real end: its socket, else the router's original tuple,
 * else what the server sees */
function clientEnd(x) {
  if (x.client) return [x.client.local_addr, x.client.local_port];
  if (x.nat) return [x.nat.orig_src_addr, x.nat.orig_src_port];
  return [x.server.remote_addr, x.server.remote_port];
}

function clientText(x) {
  const [a, p] = clientEnd(x);
  return nodeOf(a) + " " + ep(a, p);
}

function routerText(x) {
  if (!x.nat) return "";
  const n = x.nat, parts = [];
  if (n.translation === "snat" || n.translation === "both")
    parts.push(n.node + ": " + ep(n.orig_src_addr, n.orig_src_port) + " -> " +
               ep(n.reply_dst_addr, n.reply_dst_port) +
               (n.orig_src_port === n.reply_dst_port ? " (source NAT, port kept)" : " (source NAT, port changed)"));
  if (n.translation === "dnat" || n.translation === "both")
    parts.push(n.node + ": " + ep(n.orig_dst_addr, n.orig_dst_port) + " -> " +
               ep(n.reply_src_addr, n.reply_src_port) + " (port forward)");
  return parts.join("; ");
}

function sessionHops(x) {
  if (!x.client) {
    const from = nodeOf(clientEnd(x)[0]);
    if (!nodeByName.has(from)) return [{ node: x.server.node }];
    if (x.nat && (x.nat.translation === "dnat" || x.nat.translation === "both")) {
      const a = hopsTo(from, x.nat.orig_dst_addr), b = hopsTo(x.nat.node, x.srvAddr);
      return a && b ? a.concat(b.slice(1)) : a;
    }
    return hopsTo(from, x.srvAddr);
  }
  const c = x.client;
  if (x.nat && (x.nat.translation === "dnat" || x.nat.translation === "both")) {
    const a = hopsTo(c.node, c.remote_addr), b = hopsTo(x.nat.node, x.srvAddr);
    return a && b ? a.concat(b.slice(1)) : a;
  }
  return hopsTo(c.node, x.srvAddr);
}

/* ---- drawing ---- */

function clear(g) {
  while (g.firstChild) g.removeChild(g.firstChild);
  return g;
}

/* the map's words: at each end node the ports its sessions use there
 * (clients' ports, then "-> 80" for what it serves), at each router what
 * it translates, short ("pc1:40712 -> :40712", ":8080 -> server1:80");
 * the table and each line's tooltip say it in full */
function natShort(n) {
  const out = [];
  if (n.translation === "snat" || n.translation === "both")
    out.push(nodeOf(n.orig_src_addr) + ":" + n.orig_src_port + " -> :" + n.reply_dst_port);
  if (n.translation === "dnat" || n.translation === "both")
    out.push(":" + n.orig_dst_port + " -> " + nodeOf(n.reply_src_addr) + ":" + n.reply_src_port);
  return out;
}

function drawSessions(list) {
  const g = clear($("overlay")), lg = clear($("labels"));
  const labels = list.filter((x) => x.cls !== "closed").length <= 24;
  const ends = new Map(), nat = new Map();
  const add = (m, k, v) => { if (!m.has(k)) m.set(k, []); if (!m.get(k).includes(v)) m.get(k).push(v); };
  list.forEach((x, i) => {
    const hops = sessionHops(x);
    if (!hops || hops.length < 2) return;
    const off = ((i % 9) - 4) * 3;
    const pts = pathPoints(hops, off);
    const line = el("polyline", { points: pts.map((p) => p.join(",")).join(" "),
                                  class: "sess " + x.cls + (selected === x.key ? " sel" : "") });
    line.appendChild(el("title", {}, describe(x)));
    line.addEventListener("click", () => select(x));
    g.appendChild(line);
    if (selected !== x.key && (!labels || x.cls === "closed")) return;
    add(ends, hops[0].node, String(clientEnd(x)[1]));
    add(ends, hops[hops.length - 1].node, "-> " + x.srvPort);
    if (x.nat) for (const t of natShort(x.nat)) add(nat, x.nat.node, t);
  });
  for (const [name, words] of ends) {
    const n = nodeByName.get(name);
    const mine = words.filter((w) => !w.startsWith("->")), served = words.filter((w) => w.startsWith("->"));
    const text = mine.slice(0, 4).join(" ") + (mine.length > 4 ? " +" + (mine.length - 4) : "") +
                 (mine.length && served.length ? "  " : "") + served.slice(0, 3).join(" ");
    const t = el("text", { x: n.at.x - n.size.x / 2 + 2, y: n.at.y - n.size.y / 2 - 4, class: "plabel" }, text);
    t.appendChild(el("title", {}, name + ": " + words.join(", ")));
    lg.appendChild(t);
  }
  for (const [name, lines] of nat) {
    const r = nodeByName.get(name);
    lines.slice(0, 8).forEach((l, k) => {
      lg.appendChild(el("text", { x: r.at.x + r.size.x / 2 + 6, y: r.at.y - r.size.y / 2 + 12 + k * 12,
                                  class: "plabel nat" }, l));
    });
    if (lines.length > 8)
      lg.appendChild(el("text", { x: r.at.x + r.size.x / 2 + 6, y: r.at.y - r.size.y / 2 + 12 + 8 * 12,
                                  class: "plabel nat" }, "+" + (lines.length - 8) + " more"));
  }
}

function describe(x) {
  const c = x.client, s = x.server;
  const from = clientText(x);
  const to = nodeOf(x.srvAddr) + " " + ep(x.srvAddr, x.srvPort);
  return (c || s).proto + " " + from + " -> " + to + " " + x.state + (x.nat ? "; " + routerText(x) : "");
}

function drawPorts() {
  const byNode = new Map();
  for (const s of socks.values()) {
    if (s.op === "close" || s.local_addr.startsWith("127.")) continue;
    if (!(s.state === "LISTEN" || (s.proto === "udp" && s.state === "UNCONN"))) continue;
    if (!byNode.has(s.node)) byNode.set(s.node, new Map());
    const k = s.local_port + "/" + s.proto;
    byNode.get(s.node).set(k, { port: s.local_port, text: k + (s.service ? " " + s.service : "") });
  }
  const tb = $("ports").tBodies[0];
  tb.textContent = "";
  const g = $("portlayer");
  while (g.firstChild) g.removeChild(g.firstChild);
  for (const n of lab.nodes) {
    const ports = [...(byNode.get(n.name) || new Map()).values()].sort((a, b) => a.port - b.port);
    const tr = h("tr");
    tr.appendChild(h("td", n.name));
    tr.appendChild(h("td", n.ifs.map((f) => f.seg + " " + f.addr).join(", ")));
    tr.appendChild(h("td", ports.length ? ports.map((p) => p.text).join(", ") : "-", "port"));
    tb.appendChild(tr);
    if (ports.length) {
      const t = el("text", { x: n.at.x - n.size.x / 2, y: n.at.y + n.size.y / 2 + 13, class: "live-ports" });
      t.textContent = "open: " + ports.map((p) => p.port + "/" + (p.text.split(" ")[0].split("/")[1])).join(" ");
      t.appendChild(el("title", {}, ports.map((p) => p.text).join("\n")));
      g.appendChild(t);
    }
  }
}

function drawTable(list, shown) {
  const tb = $("sessions").tBodies[0];
  tb.textContent = "";
  for (const x of list.slice(0, shown)) {
    const c = x.client, s = x.server;
    const tr = h("tr", undefined, x.cls + (selected === x.key ? " sel" : ""));
    tr.dataset.key = x.key;
    tr.appendChild(h("td", (c || s).proto));
    tr.appendChild(h("td", clientText(x), "port"));
    tr.appendChild(h("td", nodeOf(x.srvAddr) + " " + ep(x.srvAddr, x.srvPort) +
                   (c && (c.remote_addr !== x.srvAddr || c.remote_port !== x.srvPort)
                      ? " (via " + ep(c.remote_addr, c.remote_port) + ")" : ""), "port"));
    tr.appendChild(h("td", (c || s).service || ""));
    tr.appendChild(h("td", x.state === "gone" ? "closed" : x.state));
    tr.appendChild(h("td", routerText(x), "port"));
    tr.addEventListener("click", () => select(x));
    tb.appendChild(tr);
  }
}

function render() {
  renderQueued = false;
  if (!lab) return;
  const list = buildSessions();
  const max = lab.page_sessions;
  const shown = Math.min(list.length, max);
  drawSessions(list.slice(0, shown));
  drawTable(list, shown);
  drawPorts();
  const open = list.filter((x) => x.cls === "open").length;
  const left = list.length - shown;
  let note = list.length + " session" + (list.length === 1 ? "" : "s") + " (" + open + " open)";
  if (left > 0) note += "; " + left + " more not shown (the page shows at most " + max + ")";
  if (lastStats && lastStats.left_out > 0) note += "; " + lastStats.left_out + " sockets past the server's bound not followed";
  const lost = lastStats && lostAtStart !== null ? lastStats.changes_lost - lostAtStart : 0;
  if (lost > 0) note += "; " + lost + " changes lost (reload for the whole table)";
  $("sessnote").textContent = note;
  $("counts").textContent = socks.size + " sockets, " + nats.size + " conntrack entries";
}

function queueRender() {
  if (!renderQueued) {
    renderQueued = true;
    setTimeout(render, 150);
  }
}

/* ---- the ladder of one session ---- */

function select(x) {
  selected = x.key;
  const c = x.client, s = x.server;
  const tuples = [];
  if (c) tuples.push([c.proto, c.local_addr, c.local_port, c.remote_addr, c.remote_port]);
  if (x.nat) tuples.push([x.nat.proto, x.nat.reply_dst_addr, x.nat.reply_dst_port, x.nat.reply_src_addr, x.nat.reply_src_port]);
  if (!c && x.nat) tuples.push([x.nat.proto, x.nat.orig_src_addr, x.nat.orig_src_port, x.nat.orig_dst_addr, x.nat.orig_dst_port]);
  if (!c && !x.nat) tuples.push([s.proto, s.remote_addr, s.remote_port, s.local_addr, s.local_port]);
  $("laddertitle").textContent = describe(x);
  $("ladderbox").hidden = false;
  $("ladder").textContent = "";
  $("laddernote").textContent = "loading";
  const q = tuples.map((t) => "t=" + t.join(",")).join("&");
  fetch("ladder?" + q).then((r) => {
    if (!r.ok) throw new Error(r.status === 503 ? "no capture on the switch (see lab web's output)" : "HTTP " + r.status);
    return r.json();
  }).then((d) => drawLadder(x, d)).catch((e) => { $("laddernote").textContent = String(e.message); });
  render();
}

function drawLadder(x, d) {
  const pk = d.packets;
  let note = pk.length + " packet" + (pk.length === 1 ? "" : "s") + " crossing the switch";
  if (d.left_out) note += "; " + d.left_out + " more not shown";
  if (d.ring_wrapped) note += "; older packets have left the " + d.ring + "-packet buffer";
  if (!pk.length) note += " (the session began before lab web did, or its packets have left the buffer)";
  $("laddernote").textContent = note;
  const hops = sessionHops(x) || [];
  const cols = hops.map((hp) => hp.node);
  for (const p of pk) for (const n of [p.from, p.to]) if (n && !cols.includes(n)) cols.push(n);
  const colX = new Map(cols.map((n, i) => [n, 70 + i * 170]));
  const W = 140 + (cols.length - 1) * 170, rowH = 28, top = 40;
  const H = top + pk.length * rowH + 20;
  const svg = el("svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img" });
  const defs = el("defs", {});
  const m = el("marker", { id: "arrowhead", viewBox: "0 0 10 10", refX: "10", refY: "5",
                           markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" });
  m.appendChild(el("path", { d: "M0,0 L10,5 L0,10 z" }));
  defs.appendChild(m);
  svg.appendChild(defs);
  for (const [n, cx] of colX) {
    svg.appendChild(el("text", { x: cx, y: 16, class: "lname" }, n));
    svg.appendChild(el("line", { x1: cx, y1: 24, x2: cx, y2: H - 8, class: "lcol" }));
  }
  const isn = new Map();
  pk.forEach((p, i) => {
    const y = top + i * rowH + 14;
    const x1 = colX.get(p.from), x2 = colX.get(p.to || p.from);
    const kind = p.flags.includes("RST") ? "rst" : p.flags.includes("SYN") ? "syn" : p.flags.includes("FIN") ? "fin" : "";
    const dir = p.src + ":" + p.sport + ">" + p.dst + ":" + p.dport;
    if (p.flags.includes("SYN")) isn.set(dir, p.seq);
    const base = isn.get(dir);
    const rel = base === undefined ? p.seq : (p.seq - base) >>> 0;
    svg.appendChild(el("line", { x1: x1, y1: y, x2: x2 === x1 ? x1 + 40 : x2, y2: y, class: "larrow " + kind }));
    const label = p.sport + " -> " + p.dport + " " + p.flags + (p.len ? " len=" + p.len : "") +
                  (p.flags !== "UDP" ? " seq=" + rel : "");
    svg.appendChild(el("text", { x: (x1 + x2) / 2, y: y - 4, class: "ltext" }, label));
    svg.appendChild(el("text", { x: 2, y: y + 3, class: "ltime" }, p.t_ms.toFixed(1)));
    const t = el("title", {}, p.seg + ": " + p.src + ":" + p.sport + " -> " + p.dst + ":" + p.dport);
    svg.lastChild.appendChild(t);
  });
  $("ladder").textContent = "";
  $("ladder").appendChild(svg);
}

/* ---- the tour ---- */

function focus(text) {
  document.querySelectorAll("#map g.focus").forEach((g) => g.classList.remove("focus"));
  for (const w of (text || "").split(" ")) {
    const g = document.getElementById("node-" + w);
    if (g) g.classList.add("focus");
  }
}

function drawTour() {
  const nav = $("tour");
  nav.textContent = "";
  nav.appendChild(h("span", "Tour:"));
  for (const s of lab.tour) {
    const b = h("button", s.step + ". " + s.title);
    b.type = "button";
    b.id = "tour-" + s.step;
    b.title = "runs: portkit lab tour --step " + s.step + "; look at " + s.focus;
    b.addEventListener("click", () => runStep(s));
    nav.appendChild(b);
  }
}

function runStep(s) {
  if (tourRunning) return;
  $("tourbox").hidden = false;
  $("tourtitle").textContent = "Step " + s.step + ": " + s.title;
  $("tourout").textContent = "";
  focus(s.focus);
  fetch("tour?step=" + s.step, { method: "POST" }).then((r) => {
    if (r.status === 409) $("tourout").textContent = "another step is running";
    else if (!r.ok) $("tourout").textContent = "cannot start the step (HTTP " + r.status + ")";
  }).catch((e) => { $("tourout").textContent = String(e.message); });
}

function onTour(d) {
  const b = $("tour-" + d.step);
  if (d.done) {
    tourRunning = 0;
    document.querySelectorAll("nav#tour button").forEach((x) => { x.disabled = false; x.classList.remove("running"); });
    $("tourout").textContent += d.status ? "\n(step " + d.step + " ended with status " + d.status + ")\n" : "";
    return;
  }
  if (!tourRunning) {
    tourRunning = d.step;
    document.querySelectorAll("nav#tour button").forEach((x) => { x.disabled = true; });
    if (b) b.classList.add("running");
    $("tourbox").hidden = false;
    const s = lab.tour[d.step - 1];
    if (s && !$("tourtitle").textContent) $("tourtitle").textContent = "Step " + s.step + ": " + s.title;
  }
  const pre = $("tourout");
  pre.textContent += d.line + "\n";
  pre.scrollTop = pre.scrollHeight;
}

/* ---- the feed ---- */

let ended = false;
let lostAtStart = null;   /* the server's count of lost changes when this feed began */

function connect() {
  const es = new EventSource("events");
  es.onopen = () => {
    socks = new Map();
    nats = new Map();
    lostAtStart = null;
    $("status").textContent = "live";
    $("status").className = "status on";
  };
  es.onerror = () => {
    if (ended) return;
    $("status").textContent = "reconnecting";
    $("status").className = "status off";
    /* a refusal (503: too many pages open) ends an EventSource for good */
    if (es.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
  };
  es.onmessage = (ev) => {
    const r = JSON.parse(ev.data);
    const map = r.type === "nat" ? nats : socks;
    if (r.op === "close") {
      const old = map.get(r.key);
      if (old) old.op = "close";
      /* a closed session stays a few seconds, marked, then goes */
      setTimeout(() => { const o = map.get(r.key); if (o && o.op === "close") { map.delete(r.key); queueRender(); } }, 8000);
    } else {
      map.set(r.key, r);
    }
    queueRender();
  };
  es.addEventListener("synced", queueRender);
  es.addEventListener("stats", (ev) => {
    lastStats = JSON.parse(ev.data);
    if (lostAtStart === null) lostAtStart = lastStats.changes_lost;
  });
  es.addEventListener("tour", (ev) => onTour(JSON.parse(ev.data)));
  es.addEventListener("end", (ev) => {
    ended = true;
    es.close();
    $("status").textContent = "ended: " + JSON.parse(ev.data).reason;
    $("status").className = "status off";
  });
}

function start() {
  fetch("lab.json").then((r) => r.json()).then((d) => {
    lab = d;
    $("labname").textContent = "'" + d.name + "'";
    document.title = "portkit lab " + d.name;
    for (const n of d.nodes) {
      nodeByName.set(n.name, n);
      for (const f of n.ifs) byAddr.set(f.addr, { node: n.name, seg: f.seg });
    }
    const map = $("map");
    map.innerHTML = d.svg;
    const svg = map.querySelector("svg");
    /* sessions under the boxes (a line is seen between nodes, not over
     * their text); port labels over everything */
    const boxes = [...svg.children].find((c) => c.querySelector && c.querySelector("g.node"));
    svg.insertBefore(el("g", { id: "overlay" }), boxes || null);
    svg.appendChild(el("g", { id: "portlayer" }));
    svg.appendChild(el("g", { id: "labels" }));
    drawTour();
    $("ladderclose").addEventListener("click", () => { $("ladderbox").hidden = true; selected = null; render(); });
    connect();
    render();
  }).catch((e) => {
    $("status").textContent = "cannot load the lab: " + e.message;
  });
}

document.addEventListener("DOMContentLoaded", start);
