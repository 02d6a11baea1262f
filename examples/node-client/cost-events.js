#!/usr/bin/env node
// Print Bourse's cost events (bourse.cost.<tenant>) as they are published, one JSON line each.
// Usage: node cost-events.js [tenant|">"] [count]   (count 0 = until Ctrl-C)
// Env: BOURSE_NATS_URL (default nats://127.0.0.1:4222).
"use strict";

const { connect, JSONCodec } = require("nats");

const server = process.env.BOURSE_NATS_URL || "nats://127.0.0.1:4222";
const tenant = process.argv[2] || ">";
const count = Number(process.argv[3] || 0);

async function main() {
  const nc = await connect({ servers: server.replace(/^nats:\/\//, ""), name: "bourse-cost-events-example" });
  const subject = `bourse.cost.${tenant}`;
  const sub = nc.subscribe(subject, count > 0 ? { max: count } : {});
  await nc.flush(); // the subscription is registered on the server before we say we are ready
  console.error(`subscribed to ${subject}`);
  const codec = JSONCodec();
  for await (const message of sub) {
    const event = codec.decode(message.data);
    console.log(
      JSON.stringify({
        subject: message.subject,
        tenant: event.tenant,
        provider: event.provider,
        model: event.model,
        served_from: event.served_from,
        cost_usd: event.cost_micro_usd / 1e6,
        request_id: event.request_id,
      }),
    );
  }
  await nc.drain();
}

main().catch((error) => {
  console.error(`cost-events: ${error.message}`);
  process.exit(1);
});
