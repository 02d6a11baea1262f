// Bourse cost-event subscriber: prints every CostEvent (bourse.cost.<tenant>) and BudgetAlert
// (bourse.alerts.budget.<tenant>) it receives, after checking it against the JSON Schema in schemas/events/.
//
//   npm ci && node subscriber.js [--tenant NAME] [--json]
//   BOURSE_NATS_URL=nats://127.0.0.1:4222 (default)
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, StringCodec } from "nats";

const here = dirname(fileURLToPath(import.meta.url));
const schemaDir = process.env.BOURSE_SCHEMA_DIR || join(here, "..", "..", "schemas", "events");
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const tenant = option("--tenant");
const asJson = args.includes("--json");

// Subject tokens escape ".", "*", ">", "%" and whitespace as %XX (see shared/events/subjects.py).
const token = (name) =>
  name === "" ? "_" : name.replace(/[%.*> \t\n\r]/g, (ch) => "%" + ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0"));

function loadSchema(kind) {
  const doc = JSON.parse(readFileSync(join(schemaDir, `${kind}.json`), "utf8"));
  const name = doc.$ref.split("/").pop();
  return doc.$defs[name];
}

// The event schemas are flat objects of scalars: check required fields and each field's JSON type.
function problems(schema, event) {
  const found = [];
  for (const field of schema.required || []) {
    if (!(field in event)) found.push(`missing ${field}`);
  }
  for (const [field, spec] of Object.entries(schema.properties || {})) {
    if (!(field in event) || !spec.type) continue;
    const value = event[field];
    const ok = {
      string: typeof value === "string",
      integer: Number.isInteger(value),
      number: typeof value === "number",
      boolean: typeof value === "boolean",
    }[spec.type];
    if (ok === false) found.push(`${field} is not ${spec.type}`);
  }
  return found;
}

const usd = (micro) => "$" + (micro / 1e6).toFixed(6);

function describe(kind, e) {
  if (kind === "cost") {
    return `cost tenant=${e.tenant} request=${e.request_id} ${e.provider}/${e.model} task=${e.task_kind} ` +
      `from=${e.served_from} tokens=${e.prompt_tokens}+${e.completion_tokens} cost=${usd(e.cost_micro_usd)} ` +
      `saved=${usd(e.saved_micro_usd ?? 0)}`;
  }
  return `budget_alert tenant=${e.tenant} limit=${e.limit} period=${e.period} threshold=${e.threshold_pct}% ` +
    `spent=${usd(e.spent_micro_usd)} of ${usd(e.limit_micro_usd)}`;
}

const nc = await connect({ servers: process.env.BOURSE_NATS_URL || "nats://127.0.0.1:4222", name: "node-cost-subscriber" });
const sc = StringCodec();
const suffix = tenant === undefined ? ">" : token(tenant);
const feeds = [
  { kind: "cost", subject: `bourse.cost.${suffix}` },
  { kind: "budget_alert", subject: `bourse.alerts.budget.${suffix}` },
];

async function consume(kind, subject) {
  const schema = loadSchema(kind);
  for await (const msg of nc.subscribe(subject)) {
    let event;
    try {
      event = JSON.parse(sc.decode(msg.data));
    } catch (error) {
      console.error(`invalid ${kind} on ${msg.subject}: not JSON (${error.message})`);
      continue;
    }
    const found = problems(schema, event);
    if (found.length) {
      console.error(`invalid ${kind} on ${msg.subject}: ${found.join(", ")}`);
      continue;
    }
    console.log(asJson ? JSON.stringify({ kind, subject: msg.subject, event }) : describe(kind, event));
  }
}

const done = Promise.all(feeds.map((f) => consume(f.kind, f.subject)));
await nc.flush(); // the subscriptions are registered with the server from here on
console.error(`ready: ${feeds.map((f) => f.subject).join(", ")}`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    await nc.drain();
  });
}
await done;
await nc.closed();
