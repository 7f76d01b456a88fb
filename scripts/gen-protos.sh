#!/usr/bin/env bash
# Generates the TypeScript types of the public API (protos/reel/v1) into protos/generated:
# build output, never committed. Same loader options as gateway/protos.ts uses at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf protos/generated
node_modules/.bin/proto-loader-gen-types --grpcLib=@grpc/grpc-js --outDir=protos/generated -I protos \
  --longs=String --enums=String --defaults --oneofs --includeComments \
  reel/v1/recommendation_service.proto reel/v1/catalog_service.proto reel/v1/admin_service.proto
# The generator writes type-only modules with extensionless imports: resolved as CommonJS.
echo '{"type": "commonjs"}' > protos/generated/package.json
