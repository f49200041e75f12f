/**
 * An API key for the local stack, made with the bootstrap admin token over HTTP like any client.
 * Answers the key, which is shown only here (the edge keeps its SHA-256).
 */
export async function createApiKey(
  edgeUrl: string,
  adminToken: string,
  request: Record<string, unknown>,
): Promise<string> {
  const res = await fetch(`${edgeUrl}/v1/keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify(request),
  });
  if (res.status !== 201) throw new Error(`creating an API key failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { key: string }).key;
}
