// Loads bourse.router.v1.RouterService from the .proto files of this repository (no generated code).
"use strict";

const path = require("node:path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const PROTO_ROOT = process.env.BOURSE_PROTO_ROOT || path.join(__dirname, "..", "..", "protos");

function routerClient(target) {
  const definition = protoLoader.loadSync("bourse/router/v1/router_service.proto", {
    includeDirs: [PROTO_ROOT],
    keepCase: true, // field names as in the .proto (cost_micro_usd, not costMicroUsd)
    longs: String, // int64 micro-dollars do not fit a JS number in general
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const { RouterService } = grpc.loadPackageDefinition(definition).bourse.router.v1;
  return new RouterService(target, grpc.credentials.createInsecure());
}

module.exports = { routerClient, grpc };
