#!/usr/bin/env node
// Route one prompt through Bourse twice: with Route (one answer) and RouteStream (deltas, then a summary).
// Prints one JSON line per call. Usage: node route.js "your prompt" [tenant]
// Env: BOURSE_ROUTER (default 127.0.0.1:50051), BOURSE_MAX_COST_USD (optional cost bound).
"use strict";

const { routerClient, grpc } = require("./router-client");

const target = process.env.BOURSE_ROUTER || "127.0.0.1:50051";
const prompt = process.argv.length > 2 ? process.argv[2] : "Say hello in one word."; // "" sends no message
const tenant = process.argv[3] || "default";
const deadlineMs = Number(process.env.BOURSE_DEADLINE_MS || 30000);

function request() {
  const constraints = { task_kind: "TASK_KIND_CHAT" };
  if (process.env.BOURSE_MAX_COST_USD) {
    constraints.max_cost_micro_usd = String(Math.round(Number(process.env.BOURSE_MAX_COST_USD) * 1e6));
  }
  return {
    chat: {
      messages: prompt ? [{ role: "ROLE_USER", content: [{ text: prompt }] }] : [],
      sampling: { max_tokens: 64 },
    },
    constraints,
    context: { tenant_id: tenant, metadata: { client: "node-example" } },
  };
}

function deadline() {
  return new Date(Date.now() + deadlineMs);
}

function summarise(response) {
  return {
    request_id: response.request_id,
    provider: response.provider,
    model: response.model,
    served_from: response.served_from,
    cost_micro_usd: response.cost_micro_usd,
    attempts: response.attempts.length,
    usage: response.completion ? response.completion.usage : null,
  };
}

function failure(call, error) {
  // The rich status (ErrorInfo reason etc.) travels in grpc-status-details-bin; code and message suffice here.
  return { call, error: { code: error.code, status: grpc.status[error.code], details: error.details } };
}

function route(client) {
  return new Promise((resolve) => {
    client.Route(request(), { deadline: deadline() }, (error, response) => {
      if (error) {
        resolve(failure("Route", error));
        return;
      }
      resolve({ call: "Route", content: response.completion.content, ...summarise(response) });
    });
  });
}

function routeStream(client) {
  return new Promise((resolve) => {
    const call = client.RouteStream(request(), { deadline: deadline() });
    let content = "";
    let deltas = 0;
    let summary = null;
    call.on("data", (message) => {
      if (message.event === "delta") {
        deltas += 1;
        content += message.delta.content;
      } else if (message.event === "summary") {
        summary = message.summary;
      }
    });
    call.on("error", (error) => resolve(failure("RouteStream", error)));
    call.on("end", () => {
      if (summary === null) {
        resolve({ call: "RouteStream", error: { details: "stream ended without a summary" } });
        return;
      }
      resolve({ call: "RouteStream", content, deltas, ...summarise(summary) });
    });
  });
}

async function main() {
  const client = routerClient(target);
  const results = [await route(client), await routeStream(client)];
  for (const result of results) {
    console.log(JSON.stringify(result));
  }
  client.close();
  process.exitCode = results.some((r) => r.error) ? 1 : 0;
}

main();
