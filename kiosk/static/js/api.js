// The tablet's JSON calls: bearer-authenticated, JSON in and out, errors with stable codes.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** fetch() a JSON endpoint with `Authorization: Bearer <secret>`. */
export async function call(method, path, bearer, body) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${bearer}` };
  const init = { method, headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = data.error ?? {};
    throw new ApiError(response.status, error.code ?? "http_error", error.message ?? "");
  }
  return data;
}
