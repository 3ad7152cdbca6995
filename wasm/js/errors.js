// Errors of the package: real Error objects named "AnnalsError" with a stable snake_case
// `code`. The WebAssembly module throws them for rejections and storage failures; this file
// makes the same shape for network and HTTP failures, and lets `instanceof AnnalsError` match
// both.

export class AnnalsError extends Error {
  constructor(code, message, details) {
    super(message);
    this.name = "AnnalsError";
    this.code = code;
    if (details !== undefined) this.details = details;
  }

  static [Symbol.hasInstance](value) {
    return isAnnalsError(value);
  }
}

export function isAnnalsError(value) {
  return (
    value instanceof Error && value.name === "AnnalsError" && typeof value.code === "string"
  );
}
