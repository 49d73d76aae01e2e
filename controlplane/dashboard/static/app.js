// The pyantrea dashboard: renders each `state` document of the controller's event stream
// (/api/v1/events, the /api/v1/dashboard document) whole, the Services the agents programmed
// (GET /api/v1/services, every SERVICES_REFRESH ms), and runs traces (POST /api/v1/trace).
// Every value from the cluster goes into the page as text, never as HTML.
"use strict";

let state = null;

// h("td", {class: "x"}, "text", child...) builds an element.
function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value !== null && value !== undefined) element.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

function fill(id, rows) {
  const body = document.querySelector(`#${id} tbody`);
  body.replaceChildren(...rows);
  if (!rows.length) {
    const columns = document.querySelectorAll(`#${id} thead th`).length;
    body.append(h("tr", {}, h("td", {colspan: columns, class: "none"}, "none")));
  }
}

function ago(iso) {
  if (!iso) return "never";
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return seconds < 120 ? `${seconds}s ago` : `${Math.round(seconds / 60)}m ago`;
}

function badge(text, good) {
  return h("span", {class: `badge ${good ? "good" : "bad"}`}, text);
}

function health(healthy, checks) {
  const failing = Object.entries(checks || {}).filter(([, failure]) => failure);
  return h("td", {class: "health", title: failing.map(([name, why]) => `${name}: ${why}`).join("\n")},
    badge(healthy ? "Healthy" : "Unhealthy", healthy),
    failing.length ? h("div", {class: "detail"}, failing.map(([name, why]) => `${name}: ${why}`).join("; ")) : null);
}

function members(list) {
  return h("td", {}, list.length ? h("ul", {}, list.map((m) =>
    h("li", {}, `${m.pod} `, h("span", {class: "detail"}, `${m.ips.join(", ")} on ${m.node}`)))) : "no members");
}

function shortName(name) {
  return h("span", {title: name, class: "mono"}, name.slice(0, 8));
}

function renderComponents(doc) {
  const c = doc.controller;
  const rows = [h("tr", {"data-component": "controller"},
    h("td", {}, "controller"), h("td", {}, c.node), h("td", {}, c.version),
    h("td", {class: "connection"}, badge("Serving", true), h("div", {class: "detail"}, `${c.agentsConnected} agents watching`)),
    h("td", {}, "-"), h("td", {}, "-"), h("td", {}, "-"), h("td", {}, "-"), health(c.healthy, c.checks))];
  for (const a of doc.agents) {
    rows.push(h("tr", {"data-component": "agent", "data-node": a.node},
      h("td", {}, "agent"), h("td", {}, a.node), h("td", {}, a.version || "?"),
      h("td", {class: "connection"}, badge(a.connected ? "Connected" : "Disconnected", a.connected),
        a.connected ? h("div", {class: "detail"}, `since ${ago(a.connectedSince)}`) : null),
      h("td", {class: "heartbeat", "data-time": a.lastHeartbeat || ""}, ago(a.lastHeartbeat)),
      h("td", {}, a.ovsVersion || "?"),
      h("td", {class: "flows", title: (a.flowsByTable || []).map((t) => `${t.table} ${t.name}: ${t.flows}`).join("\n")},
        a.flows ?? "?"),
      h("td", {class: "pods"}, a.pods ?? "?"),
      a.checks ? health(a.healthy, a.checks) : h("td", {}, "?")));
  }
  fill("components", rows);
}

function renderNodes(doc) {
  fill("nodes", doc.nodes.map((n) => h("tr", {"data-node": n.name},
    h("td", {}, n.name), h("td", {}, n.podCIDR || "?"), h("td", {}, n.nodeIP || "?"), h("td", {}, n.tunnelType || "?"),
    h("td", {}, badge(n.agentConnected ? "Connected" : "Disconnected", n.agentConnected)))));
}

function policyName(p) {
  return p.namespace ? `${p.namespace}/${p.name}` : `ClusterNetworkPolicy ${p.name} (${p.tier} tier, priority ${p.priority})`;
}

function ruleName(p, r) {
  return p.namespace ? r.name : `${r.name} ${r.action}`;
}

function renderPolicies(doc) {
  fill("policies", doc.networkPolicies.map((p) => h("tr", {"data-policy": p.namespace ? `${p.namespace}/${p.name}` : p.name},
    h("td", {}, policyName(p)),
    h("td", {class: "phase"}, badge(p.phase, p.phase === "Realized")),
    h("td", {class: "realized"}, `${p.currentNodesRealized}/${p.desiredNodesRealized}`),
    h("td", {}, (p.span || []).join(", ") || "-"),
    h("td", {class: "detail"}, p.message || ""))));
  const rules = [];
  for (const p of doc.networkPolicies) {
    for (const r of p.rules || []) {
      rules.push(h("tr", {"data-policy": p.namespace ? `${p.namespace}/${p.name}` : p.name, "data-rule": r.name},
        h("td", {}, policyName(p)), h("td", {}, ruleName(p, r)), h("td", {}, r.direction),
        h("td", {}, r.ports.join(", ") || "any"),
        h("td", {class: "packets"}, r.packets), h("td", {class: "bytes"}, r.bytes),
        h("td", {class: "detail"}, Object.entries(r.nodes).map(([node, t]) => `${node}: ${t.packets}`).join(", "))));
    }
  }
  fill("rules", rules);
}

function renderGroups(id, groups) {
  fill(id, groups.map((g) => h("tr", {"data-group": g.name},
    h("td", {}, shortName(g.name)), h("td", {}, g.policies.join(", ")), members(g.members),
    h("td", {}, g.span.join(", ") || "-"))));
}

function render(doc) {
  state = doc;
  renderComponents(doc);
  renderNodes(doc);
  renderPolicies(doc);
  renderGroups("address-groups", doc.addressGroups);
  renderGroups("applied-to-groups", doc.appliedToGroups);
  document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
}

function connect() {
  const feed = document.getElementById("feed");
  const events = new EventSource("/api/v1/events");
  events.addEventListener("open", () => { feed.textContent = "live"; feed.className = "badge good"; });
  events.addEventListener("error", () => { feed.textContent = "reconnecting"; feed.className = "badge bad"; });
  events.addEventListener("state", (event) => render(JSON.parse(event.data)));
}

function ruleText(rule) {
  if (!rule.namespace) return `ClusterNetworkPolicy ${rule.name} ${rule.rule} (${rule.tier} tier)`;
  return `${rule.namespace}/${rule.name} ${rule.rule}`;
}

const ACTION_WORDS = {Accept: "accepted by", Deny: "denied by", Pass: "passed on by"};

function decisionWords(d) {
  if (d.action) return ACTION_WORDS[d.action] || d.action;
  return d.allowed ? "allowed by" : "dropped by the isolation of";
}

const SERVICES_REFRESH = 5000;

function byNode(port) {
  const nodes = Object.entries(port.byNode);
  return h("td", {class: "detail"}, h("ul", {}, nodes.map(([node, e]) => h("li", {"data-node": node},
    `${node}: ${e.cluster.length ? e.cluster.join(", ") : "none (rejects)"}`,
    e.local.length ? ` (local: ${e.local.join(", ")})` : null))));
}

function renderServices(doc) {
  const rows = [];
  for (const s of doc.services) {
    const addresses = [...s.clusterIPs, ...s.externalIPs].join(", ") || "-";
    for (const p of s.ports) {
      const port = `${p.name ? p.name + " " : ""}${p.port}/${p.protocol}${p.nodePort ? ` (NodePort ${p.nodePort})` : ""}`;
      rows.push(h("tr", {"data-service": `${s.namespace}/${s.name}`, "data-port": p.port},
        h("td", {}, `${s.namespace}/${s.name}`), h("td", {class: "mono"}, addresses), h("td", {}, port),
        h("td", {class: "endpoints mono"}, p.endpoints.length ? p.endpoints.join(", ") : badge("no endpoints", false)),
        byNode(p)));
    }
  }
  fill("services", rows);
  const unreachable = Object.entries(doc.unreachable).map(([node, why]) => `${node}: ${why}`);
  document.getElementById("services-unreachable").textContent =
    unreachable.length ? `not answering: ${unreachable.join("; ")}` : "";
  document.getElementById("services-updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
}

async function refreshServices() {
  try {
    const response = await fetch("/api/v1/services");
    if (response.ok) renderServices(await response.json());
  } finally {
    setTimeout(refreshServices, SERVICES_REFRESH);
  }
}

function serviceLine(s) {
  const head = `Service ${s.service} ${s.portName || s.protocol.toLowerCase()}/${s.frontend.split(":").pop()} (${s.frontend})`;
  if (!s.endpoint) return `${head}: no endpoint`;
  const where = [s.endpointPod ? `pod ${s.endpointPod}` : null, s.endpointNode].filter(Boolean).join(" on ");
  return `${head} → endpoint ${s.endpoint}${where ? ` (${where})` : ""}, chosen by ${s.chosenBy}`;
}

function renderHop(hop) {
  const decisions = hop.policies.map((d) => h("li", {class: d.allowed ? "allowed" : "dropped"},
    `${d.direction}: ${decisionWords(d)} `,
    h("span", {class: "rule"}, d.rules.length ? d.rules.map(ruleText).join(", ") : "(no rule found)")));
  return h("div", {class: "hop", "data-node": hop.node},
    h("h3", {}, `${hop.node}: `, badge(hop.verdict, !["Dropped", "Rejected"].includes(hop.verdict))),
    h("p", {}, hop.reason),
    hop.service ? h("p", {class: "service"}, serviceLine(hop.service)) : null,
    decisions.length ? h("ul", {class: "decisions"}, decisions) : h("p", {class: "detail"}, "no NetworkPolicy decided"),
    h("ol", {class: "tables"}, hop.steps.map((s) => h("li", {},
      h("span", {class: "table"}, `${s.table} ${s.tableName}`), " ", h("span", {class: "detail mono"}, s.match || "(any)")))));
}

async function trace(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const result = document.getElementById("trace-result");
  result.replaceChildren(h("p", {}, "tracing..."));
  const body = {source: form.get("source"), destination: form.get("destination"), protocol: form.get("protocol")};
  if (body.protocol !== "ICMP") body.port = Number(form.get("port"));
  if (form.get("endpoint")) body.endpoint = form.get("endpoint");
  const response = await fetch("/api/v1/trace", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body)});
  const answer = await response.json();
  if (!response.ok) {
    result.replaceChildren(h("p", {class: "error"}, answer.error));
    return;
  }
  result.replaceChildren(
    h("p", {class: "verdict"}, badge(answer.verdict, !["Dropped", "Rejected"].includes(answer.verdict)), " ",
      `${answer.source} → ${answer.destinationPod || answer.destinationIP} (${answer.protocol}${answer.protocol === "ICMP" ? "" : "/" + answer.port}): ${answer.reason}`),
    ...answer.hops.map(renderHop));
}

document.getElementById("trace-form").addEventListener("submit", trace);
setInterval(() => {
  for (const cell of document.querySelectorAll("td.heartbeat")) cell.textContent = ago(cell.dataset.time);
}, 1000);
connect();
refreshServices();
