// userplane → ImportUser. An export line (`GET /v1/users/export`) is a valid ImportUser as it is
// (the contract accepts and ignores its descriptive fields), so it passes through unchanged and
// the server judges it.

/** @param {Record<string, unknown>} record */
export function convertUserplane(record) {
  return { user: record };
}
