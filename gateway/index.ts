export { Gateway, SERVICES, type GatewayBackend, type GatewayOptions, type UnaryHandlers } from './server.js';
export { ClusterBackend, statusResponse } from './cluster-backend.js';
export { ApiError, apiErrorOf, decodeStatusDetails, toServiceError, ERROR_DOMAIN, type DecodedStatus, type ErrorReason, type FieldViolation } from './errors.js';
export { AdminAuth } from './auth.js';
export { GatewayMetrics, codeName } from './metrics.js';
export { API_PROTO_FILES, LOADER_OPTIONS, apiProtos, protosDir } from './protos.js';
export { RequestCheck, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_CONTEXT_ATTRIBUTES } from './validate.js';
export { checkTokenFingerprint, decodePageToken, encodePageToken, requestFingerprint, type PageToken } from './page-token.js';
export { traceIdOf } from './trace.js';
