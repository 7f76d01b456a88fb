import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type GrpcObject } from '@grpc/grpc-js';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';
import type { ProtoGrpcType as AdminProto } from '../protos/generated/admin_service.js';
import type { ProtoGrpcType as CatalogProto } from '../protos/generated/catalog_service.js';
import type { ProtoGrpcType as RecommendationProto } from '../protos/generated/recommendation_service.js';

/** The proto files of the public API, relative to `protosDir()`. */
export const API_PROTO_FILES = ['reel/v1/recommendation_service.proto', 'reel/v1/catalog_service.proto', 'reel/v1/admin_service.proto'] as const;

/**
 * How the protos are loaded at run time: the same options `npm run build` gives
 * `proto-loader-gen-types`, so that the generated types describe what handlers receive
 * (camelCase fields, enums as their names, 64-bit integers as strings, defaults filled in).
 */
export const LOADER_OPTIONS: Options = { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true };

/** The `protos/` folder of this installation (beside `dist/` when built, beside `gateway/` in sources). */
export function protosDir(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'protos', 'reel', 'v1'))) return join(dir, 'protos');
    if (dirname(dir) === dir) throw new Error('the reel.v1 protos are not installed (no protos/reel/v1 above the gateway module)');
  }
}

let loaded: { definition: PackageDefinition; api: AdminProto & CatalogProto & RecommendationProto } | undefined;

/** The package definition of the public API (for reflection) and its typed gRPC objects; loaded once. */
export function apiProtos(): NonNullable<typeof loaded> {
  if (loaded === undefined) {
    const definition = loadSync([...API_PROTO_FILES], { ...LOADER_OPTIONS, includeDirs: [protosDir()] });
    loaded = { definition, api: loadPackageDefinition(definition) as GrpcObject as unknown as NonNullable<typeof loaded>['api'] };
  }
  return loaded;
}
