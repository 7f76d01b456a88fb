/** Ms since the Unix epoch as a `google.protobuf.Timestamp` (64-bit seconds as a string, as the loader gives them). */
export function timestamp(ms: number): { seconds: string; nanos: number } {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}
